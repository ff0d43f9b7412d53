/** Real rows, made through Prisma, and credentials obtained the way a client would: over HTTP. */
import { randomBytes } from 'node:crypto';
import request from 'supertest';
import type { Prisma, Role } from '../../src/generated/prisma/client';
import { hashPassword } from '../../src/users/passwords';
import type { TestApp } from './app';

export const PASSWORD = 'correct horse battery staple';

export interface Member {
  readonly userId: number;
  readonly organizationId: number;
  readonly email: string;
  readonly role: Role;
}

export async function createOrganization(t: TestApp, title = 'Acme'): Promise<number> {
  return (await t.database.prisma.organization.create({ data: { title } })).id;
}

/** A user (new unless `email` exists) with a membership of `role` in `organizationId` (a new org by default). */
export async function createMember(
  t: TestApp,
  options: { role?: Role; organizationId?: number; email?: string } = {},
): Promise<Member> {
  const organizationId = options.organizationId ?? (await createOrganization(t));
  const email = options.email ?? `user-${randomBytes(4).toString('hex')}@example.com`;
  const role = options.role ?? 'owner';
  const user = await t.database.prisma.user.upsert({
    where: { email },
    create: {
      email,
      username: email,
      passwordHash: await hashPassword(PASSWORD, 4),
      activeOrganizationId: organizationId,
    },
    update: {},
  });
  await t.database.prisma.membership.create({ data: { userId: user.id, organizationId, role } });
  return { userId: user.id, organizationId, email, role };
}

/** A login access token (Bearer) for `member`. */
export async function loginAccess(t: TestApp, member: Member): Promise<string> {
  const res = await request(t.app).post('/api/auth/login').send({ email: member.email, password: PASSWORD });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access as string;
}

/** A PAT created by `member` over HTTP. */
export async function createPat(
  t: TestApp,
  member: Member,
  body: Record<string, unknown> = {},
): Promise<{ token: string; id: number }> {
  const res = await request(t.app)
    .post('/api/token/')
    .set('Authorization', `Bearer ${await loginAccess(t, member)}`)
    .send(body);
  if (res.status !== 201) throw new Error(`PAT creation failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.token as string, id: res.body.id as number };
}

/** The access token `pat` refreshes to. */
export async function refreshAccess(t: TestApp, pat: string): Promise<string> {
  const res = await request(t.app).post('/api/token/refresh/').send({ refresh: pat });
  if (res.status !== 200) throw new Error(`refresh failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.access as string;
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Splits a compact JWS and decodes its header and payload. */
export function decodeJwt(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header!, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload!, 'base64url').toString()),
  };
}

/**
 * Runs `fn` with some of the organization's columns changed (and the change seen by the app),
 * then puts back what they were, even when `fn` fails.
 */
export async function withOrganization<T>(
  t: TestApp,
  organizationId: number,
  data: Prisma.OrganizationUpdateInput,
  fn: () => Promise<T>,
): Promise<T> {
  const columns = Object.fromEntries(Object.keys(data).map((key) => [key, true])) as Prisma.OrganizationSelect;
  const before = (await t.database.prisma.organization.findUniqueOrThrow({
    where: { id: organizationId },
    select: columns,
  })) as Prisma.OrganizationUpdateInput;
  await t.database.prisma.organization.update({ where: { id: organizationId }, data });
  await t.state.sync();
  try {
    return await fn();
  } finally {
    await t.database.prisma.organization.update({ where: { id: organizationId }, data: before });
    await t.state.sync();
  }
}
