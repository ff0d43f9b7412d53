-- The revocation stream's log (GET /api/token/events): what a resource server that verifies
-- access tokens locally must learn at once. Database triggers write it, from the rows that
-- change, so every way of changing them (the API, the CLI, psql) is in the log, in the very
-- transaction that makes the change.
--
-- Order: the triggers are deferred to commit and take one advisory lock before inserting,
-- held until the transaction ends, so ids are handed out in commit order: a reader that sees
-- id n sees every id below it, and a cursor (Last-Event-ID) never skips an event that commits
-- late. The lock is taken at commit, after the transaction's own work, so it cannot take part
-- in a deadlock, and it serializes only transactions that write events (revocations,
-- membership and policy changes, key rotations).
--
-- Retention: each insert deletes up to 100 rows older than 3900 s (MAX_ACCESS_TOKEN_TTL_SECONDS
-- + MAX_LEEWAY_SECONDS in src/limits.ts, TOKEN_EVENT_RETENTION_SECONDS there; a test checks the
-- two agree): every access token issued before a pruned event has expired.

-- CreateTable
CREATE TABLE "token_events" (
    "id" BIGSERIAL NOT NULL,
    "organization_id" INTEGER,
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "token_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "token_events_organization_id_id_idx" ON "token_events"("organization_id", "id");

-- CreateIndex
CREATE INDEX "token_events_created_at_idx" ON "token_events"("created_at");

-- CreateFunction
CREATE FUNCTION "latchkey_token_event"(org INTEGER, kind TEXT, payload JSONB) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    new_id BIGINT;
BEGIN
    -- 'latchkey' 'token_events': held to the end of the transaction (see the top of this file).
    PERFORM pg_advisory_xact_lock(1819565163, 1953392747);
    INSERT INTO token_events (organization_id, type, data) VALUES (org, kind, payload) RETURNING id INTO new_id;
    DELETE FROM token_events WHERE id IN (
        SELECT id FROM token_events WHERE created_at < now() - interval '3900 seconds' ORDER BY created_at LIMIT 100
    );
    RETURN new_id;
END;
$$;

-- A PAT stopped (revoked, rotated, its family revoked, deleted): one event per organization and
-- transaction, listing every jti the transaction stopped (a family revocation lists them all),
-- 500 at most per event (a mass revocation is several events, none too large to send).
-- CreateFunction
CREATE FUNCTION "latchkey_pat_event"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    setting TEXT := 'latchkey.pat_event_' || OLD.organization_id;
    pending BIGINT := NULLIF(current_setting(setting, true), '')::BIGINT;
BEGIN
    IF pending IS NOT NULL THEN
        UPDATE token_events SET data = jsonb_set(data, '{jtis}', (data -> 'jtis') || to_jsonb(OLD.jti::TEXT))
        WHERE id = pending AND jsonb_array_length(data -> 'jtis') < 500;
        IF FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    PERFORM set_config(setting, latchkey_token_event(OLD.organization_id, 'pat_revoked',
        jsonb_build_object('jtis', jsonb_build_array(OLD.jti::TEXT)))::TEXT, true);
    RETURN NULL;
END;
$$;

-- A user deactivated or reactivated: to each organization the user belongs to.
-- CreateFunction
CREATE FUNCTION "latchkey_user_event"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    org INTEGER;
BEGIN
    FOR org IN SELECT organization_id FROM memberships WHERE user_id = NEW.id ORDER BY organization_id LOOP
        PERFORM latchkey_token_event(org, CASE WHEN NEW.is_active THEN 'user_activated' ELSE 'user_deactivated' END,
            jsonb_build_object('user_id', NEW.id));
    END LOOP;
    RETURN NULL;
END;
$$;

-- What a membership grants changed (added, accepted, demoted, promoted, removed): the role it
-- grants now, null for none.
-- CreateFunction
CREATE FUNCTION "latchkey_membership_event"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    before TEXT := CASE WHEN TG_OP <> 'INSERT' AND OLD.status = 'active' THEN OLD.role::TEXT END;
    after TEXT := CASE WHEN TG_OP <> 'DELETE' AND NEW.status = 'active' THEN NEW.role::TEXT END;
    member INTEGER := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
    org INTEGER := CASE WHEN TG_OP = 'DELETE' THEN OLD.organization_id ELSE NEW.organization_id END;
BEGIN
    IF before IS DISTINCT FROM after THEN
        PERFORM latchkey_token_event(org, 'membership_changed', jsonb_build_object('user_id', member, 'role', after));
    END IF;
    RETURN NULL;
END;
$$;

-- CreateFunction
CREATE FUNCTION "latchkey_session_event"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM latchkey_token_event(OLD.organization_id, 'session_ended',
        jsonb_build_object('sid', OLD.id::TEXT, 'user_id', OLD.user_id));
    RETURN NULL;
END;
$$;

-- CreateFunction
CREATE FUNCTION "latchkey_policy_event"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM latchkey_token_event(NEW.id, 'policy_changed', jsonb_build_object(
        'api_tokens_enabled', NEW.api_tokens_enabled,
        'legacy_api_tokens_enabled', NEW.legacy_api_tokens_enabled,
        'api_token_ttl_days', NEW.api_token_ttl_days,
        'access_token_ttl_seconds', NEW.access_token_ttl_seconds));
    RETURN NULL;
END;
$$;

-- A key started signing, or stopped verifying: to every organization (organization_id null).
-- CreateFunction
CREATE FUNCTION "latchkey_key_event"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.state = 'signing' AND (TG_OP = 'INSERT' OR OLD.state <> 'signing') THEN
        PERFORM latchkey_token_event(NULL, 'key_rotated', jsonb_build_object('kid', NEW.kid));
    ELSIF TG_OP = 'DELETE' OR (NEW.state = 'retired' AND OLD.state <> 'retired') THEN
        PERFORM latchkey_token_event(NULL, 'key_retired', jsonb_build_object('kid', OLD.kid));
    END IF;
    RETURN NULL;
END;
$$;

-- CreateTrigger
CREATE CONSTRAINT TRIGGER "personal_access_tokens_token_event_update" AFTER UPDATE OF "revoked_at" ON "personal_access_tokens"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION "latchkey_pat_event"();
CREATE CONSTRAINT TRIGGER "personal_access_tokens_token_event_delete" AFTER DELETE ON "personal_access_tokens"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL) EXECUTE FUNCTION "latchkey_pat_event"();
CREATE CONSTRAINT TRIGGER "users_token_event" AFTER UPDATE OF "is_active" ON "users"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active) EXECUTE FUNCTION "latchkey_user_event"();
CREATE CONSTRAINT TRIGGER "memberships_token_event" AFTER INSERT OR UPDATE OR DELETE ON "memberships"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "latchkey_membership_event"();
CREATE CONSTRAINT TRIGGER "sessions_token_event_update" AFTER UPDATE OF "ended_at" ON "sessions"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.ended_at IS NULL AND NEW.ended_at IS NOT NULL) EXECUTE FUNCTION "latchkey_session_event"();
CREATE CONSTRAINT TRIGGER "sessions_token_event_delete" AFTER DELETE ON "sessions"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.ended_at IS NULL) EXECUTE FUNCTION "latchkey_session_event"();
CREATE CONSTRAINT TRIGGER "organizations_token_event" AFTER UPDATE ON "organizations"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.api_tokens_enabled, OLD.legacy_api_tokens_enabled, OLD.api_token_ttl_days, OLD.access_token_ttl_seconds)
        IS DISTINCT FROM (NEW.api_tokens_enabled, NEW.legacy_api_tokens_enabled, NEW.api_token_ttl_days, NEW.access_token_ttl_seconds))
    EXECUTE FUNCTION "latchkey_policy_event"();
CREATE CONSTRAINT TRIGGER "signing_keys_token_event" AFTER INSERT OR UPDATE OF "state" OR DELETE ON "signing_keys"
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION "latchkey_key_event"();

-- Every instance hears of a new event through the change feed, and wakes the streams it serves.
-- CreateTrigger
CREATE TRIGGER "token_events_notify_change" AFTER INSERT ON "token_events" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
