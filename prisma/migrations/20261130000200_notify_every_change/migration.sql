-- Announce every change to what authentication caches, not only revocations: an operator who
-- changes a PAT's role or a session's expiry in psql must reach every instance as surely as a
-- revocation does. A change to last_used_at alone (written in batches by every instance) is
-- not announced. A TRUNCATE announces its table: every instance drops what it cached of it.

-- DropTrigger
DROP TRIGGER "personal_access_tokens_notify_change" ON "personal_access_tokens";
DROP TRIGGER "legacy_tokens_notify_change" ON "legacy_tokens";
DROP TRIGGER "sessions_notify_change" ON "sessions";

-- CreateTrigger
CREATE TRIGGER "personal_access_tokens_notify_change" AFTER INSERT OR DELETE ON "personal_access_tokens" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "personal_access_tokens_notify_update" AFTER UPDATE ON "personal_access_tokens" FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at')) EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "legacy_tokens_notify_change" AFTER INSERT OR DELETE ON "legacy_tokens" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "legacy_tokens_notify_update" AFTER UPDATE ON "legacy_tokens" FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_used_at') IS DISTINCT FROM (to_jsonb(NEW) - 'last_used_at')) EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "sessions_notify_change" AFTER INSERT OR UPDATE OR DELETE ON "sessions" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();

-- CreateFunction
CREATE FUNCTION "latchkey_notify_truncate"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('latchkey_changes', jsonb_build_object('table', TG_TABLE_NAME, 'op', 'TRUNCATE', 'row', '{}'::jsonb)::text);
    RETURN NULL;
END;
$$;

-- CreateTrigger
CREATE TRIGGER "organizations_notify_truncate" AFTER TRUNCATE ON "organizations" FOR EACH STATEMENT EXECUTE FUNCTION "latchkey_notify_truncate"();
CREATE TRIGGER "users_notify_truncate" AFTER TRUNCATE ON "users" FOR EACH STATEMENT EXECUTE FUNCTION "latchkey_notify_truncate"();
CREATE TRIGGER "memberships_notify_truncate" AFTER TRUNCATE ON "memberships" FOR EACH STATEMENT EXECUTE FUNCTION "latchkey_notify_truncate"();
CREATE TRIGGER "personal_access_tokens_notify_truncate" AFTER TRUNCATE ON "personal_access_tokens" FOR EACH STATEMENT EXECUTE FUNCTION "latchkey_notify_truncate"();
CREATE TRIGGER "legacy_tokens_notify_truncate" AFTER TRUNCATE ON "legacy_tokens" FOR EACH STATEMENT EXECUTE FUNCTION "latchkey_notify_truncate"();
CREATE TRIGGER "sessions_notify_truncate" AFTER TRUNCATE ON "sessions" FOR EACH STATEMENT EXECUTE FUNCTION "latchkey_notify_truncate"();
CREATE TRIGGER "signing_keys_notify_truncate" AFTER TRUNCATE ON "signing_keys" FOR EACH STATEMENT EXECUTE FUNCTION "latchkey_notify_truncate"();
