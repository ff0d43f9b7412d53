/**
 * First run: while no user exists, whoever holds the setup code creates the first owner (of a
 * new organization) from the sign-in page, and is signed in as login would sign them in.
 *
 * The code is a keyed tag of a fixed label under LATCHKEY_SECRET_KEY: every instance and every
 * restart derive the same one, nothing is stored, and only someone who can read the server's
 * log (or its key) has it. It opens nothing once a user exists.
 */
import type { Context } from '../context';
import type { Db } from '../db/handle';
import { fail } from '../errors';
import { bootstrapFirstOwner } from '../orgs/orgs.service';
import { safeEqual, type Tagger } from '../secrets';
import { openSession, type LoggedIn } from '../sessions/sessions.service';
import { hashPassword } from '../users/passwords';
import { anyUserExists } from '../users/users.store';

/** 128 bits: 22 base64url characters, short enough to paste, too many to guess. */
const SETUP_CODE_BYTES = 16;

export const setupCode = (tags: Tagger) =>
  tags.tag('setup code', 'first owner').subarray(0, SETUP_CODE_BYTES).toString('base64url');

/** True only while no user exists. */
export async function firstOwnerNeeded(db: Db): Promise<boolean> {
  return !(await anyUserExists(db));
}

/** What the server logs at start-up while no user exists: where to create the first owner. */
export async function setupNotice(
  db: Db,
  tags: Tagger,
  { issuer, embedded }: { issuer: string; embedded: boolean },
): Promise<string | undefined> {
  if (!(await firstOwnerNeeded(db))) return undefined;
  // The embedded database is this process's alone: the command runs while the server is stopped.
  const command = `${embedded ? 'stop the server and ' : ''}run: npx latchkey create-admin --email you@example.com`;
  return `No user yet: create the first owner at ${issuer}/login#setup=${setupCode(tags)} or ${command}`;
}

export interface FirstOwner {
  readonly setupCode: string;
  readonly email: string;
  readonly password: string;
  readonly firstName?: string | undefined;
  readonly lastName?: string | undefined;
  readonly organization: string;
}

/**
 * `POST /api/setup`: closed (409) once any user exists, whatever is sent; then the code,
 * compared in constant time, before any bcrypt work. The cheap check up front is only an
 * early answer: {@link bootstrapFirstOwner} decides under its advisory lock, so of two
 * concurrent calls exactly one creates the owner and the other is a 409 too.
 */
export async function setUp(ctx: Context, input: FirstOwner, ip: string | undefined): Promise<LoggedIn> {
  if (!(await firstOwnerNeeded(ctx.db))) throw fail('already_set_up');
  if (!safeEqual(input.setupCode, setupCode(ctx.tags)))
    throw fail('permission_denied', {
      detail: 'Wrong setup code: use the link the server logged at start-up, or run `npx latchkey create-admin`.',
    });
  const created = await bootstrapFirstOwner(
    ctx.change,
    {
      email: input.email,
      passwordHash: await hashPassword(input.password, ctx.config.bcryptRounds),
      firstName: input.firstName,
      lastName: input.lastName,
      organization: input.organization,
      settings: ctx.config.defaultOrgSettings,
    },
    { ip, via: 'setup' },
  );
  if (!created) throw fail('already_set_up');
  return openSession(ctx, created.user.id, { organizationId: created.organization.id, role: 'owner' }, ip);
}
