-- Label Studio's user object: a unique username (the email unless the user changes it), and
-- the profile fields its API returns. date_joined is created_at; initials are derived.

-- AlterTable
ALTER TABLE "users" ADD COLUMN     "allow_newsletters" BOOLEAN,
ADD COLUMN     "avatar" TEXT,
ADD COLUMN     "last_activity" TIMESTAMPTZ(3),
ADD COLUMN     "phone" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "username" TEXT;

-- Replaced below; dropped first so that the backfill announces nothing (no cached field changes).
-- DropTrigger
DROP TRIGGER "users_notify_change" ON "users";

-- Existing users: username = email (unique already). last_activity stays null (nothing
-- recorded yet) until their next login or credential use.
UPDATE "users" SET "username" = "email";

ALTER TABLE "users" ALTER COLUMN "username" SET NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "users_username_key" ON "users"("username");

-- An insert that names no username gets the email, whoever makes it (the app sets it itself;
-- this covers psql and the benchmark's seeding). BEFORE triggers run before NOT NULL is checked.
-- CreateFunction
CREATE FUNCTION "latchkey_default_username"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW."username" := COALESCE(NEW."username", NEW."email");
    RETURN NEW;
END;
$$;

-- CreateTrigger
CREATE TRIGGER "users_default_username" BEFORE INSERT ON "users" FOR EACH ROW EXECUTE FUNCTION "latchkey_default_username"();

-- last_activity is written in batches by every instance (at most once a minute per user, as
-- last_used_at of tokens is): a change to it alone is not announced, so it evicts nothing.
-- CreateTrigger
CREATE TRIGGER "users_notify_change" AFTER INSERT OR DELETE ON "users" FOR EACH ROW EXECUTE FUNCTION "latchkey_notify_change"();
CREATE TRIGGER "users_notify_update" AFTER UPDATE ON "users" FOR EACH ROW
    WHEN ((to_jsonb(OLD) - 'last_activity') IS DISTINCT FROM (to_jsonb(NEW) - 'last_activity')) EXECUTE FUNCTION "latchkey_notify_change"();
