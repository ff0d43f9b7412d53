-- Announces every change to what authentication depends on, on channel "latchkey_changes",
-- so each instance keeps its in-memory copy current (and a revocation reaches all of them).
-- Payload: {"table", "op", "row"}; secrets at rest and large columns are left out of "row".

-- CreateFunction
CREATE FUNCTION "latchkey_notify_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('latchkey_changes', jsonb_build_object(
        'table', TG_TABLE_NAME,
        'op', TG_OP,
        'row', to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END) - 'private_key_encrypted' - 'public_jwk' - 'password_hash'
    )::text);
    RETURN NULL;
END;
$$;

-- CreateTrigger
CREATE TRIGGER "organizations_notify_change" AFTER INSERT OR UPDATE OR DELETE ON "organizations" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "users_notify_change" AFTER INSERT OR UPDATE OR DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "memberships_notify_change" AFTER INSERT OR UPDATE OR DELETE ON "memberships" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "personal_access_tokens_notify_change" AFTER INSERT OR UPDATE OF "revoked_at" OR DELETE ON "personal_access_tokens" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "legacy_tokens_notify_change" AFTER INSERT OR UPDATE OF "revoked_at" OR DELETE ON "legacy_tokens" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "sessions_notify_change" AFTER INSERT OR UPDATE OF "ended_at" OR DELETE ON "sessions" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "signing_keys_notify_change" AFTER INSERT OR UPDATE OR DELETE ON "signing_keys" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
