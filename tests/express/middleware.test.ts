/**
 * `@latchkey/express` (packages/express) in a small Express app, against a real Latchkey over
 * real HTTP: tokens verified locally (JWKS), revocations learnt from the event stream with no
 * introspection call, and introspection while the stream is cut (a proxy in front of Latchkey
 * carries the stream alone). Awaits the events it expects, never a stopwatch.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import request from 'supertest';
import {
  latchkey,
  type LatchkeyMiddleware,
  type LatchkeyStreamEvent,
  type LatchkeyStreamStatus,
} from '../../packages/express/src/index';
import { rotateSigningKey } from '../../src/keys/keyring';
import { startTestApp, type TestApp } from '../support/app';
import {
  bearer,
  createMember,
  createPat,
  decodeJwt,
  loginAccess,
  refreshAccess,
  type Member,
} from '../support/factories';
import { startProxy, type CuttableProxy } from '../support/proxy';
import { orTimeout } from '../support/wait';

let t: TestApp;
let server: http.Server;
let issuer: string;
let proxy: CuttableProxy;
let owner: Member;
let middleware: LatchkeyMiddleware;
let resource: express.Express;
const calls = { introspect: 0, events: 0 };
const events: LatchkeyStreamEvent[] = [];
const statuses: LatchkeyStreamStatus[] = [];
const waiters = new Set<() => void>();
const notify = () => waiters.forEach((waiter) => waiter());

/** Resolves once `check` holds, re-checked after each event and status change. */
function when(what: string, check: () => boolean): Promise<void> {
  return orTimeout(
    new Promise<void>((resolve) => {
      const waiter = () => {
        if (!check()) return;
        waiters.delete(waiter);
        resolve();
      };
      waiters.add(waiter);
      waiter();
    }),
    () => what,
  );
}

const revoked = (jti: string) => () =>
  events.some((e) => e.type === 'pat_revoked' && (e.data.jtis as string[]).includes(jti));

/** Latchkey's fetch, counted; the event stream alone goes through the proxy the tests cut. */
const countingFetch: typeof fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.pathname === '/api/token/introspect') calls.introspect++;
  if (url.pathname === '/api/token/events') {
    calls.events++;
    url.port = String(proxy.port);
  }
  return fetch(url, init);
};

beforeAll(async () => {
  server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  issuer = `http://127.0.0.1:${port}`;
  t = await startTestApp({ env: { LATCHKEY_ISSUER: issuer, LATCHKEY_PAT_CREATE_PER_MINUTE: '100000' } });
  server.on('request', t.app);
  proxy = await startProxy('127.0.0.1', port);
  owner = await createMember(t, { role: 'owner' });
  // The service's own credential: an access token refreshed from an owner's PAT.
  const service = await refreshAccess(t, (await createPat(t, owner, { name: 'resource server' })).token);
  middleware = latchkey({
    issuer,
    fetch: countingFetch,
    // Any outage at all makes the view stale: the fallback test needs no waiting.
    staleAfterMs: 0,
    introspection: { token: () => Promise.resolve(service) },
    clock: t.clock,
    onEvent(event) {
      events.push(event);
      notify();
    },
    onStatus(status) {
      statuses.push(status);
      notify();
    },
  });
  resource = express();
  resource.get('/things', middleware, (req, res) => {
    res.json(req.latchkey);
  });
  await when('the middleware’s stream is ready', () => middleware.status === 'ready');
});

afterAll(async () => {
  middleware?.close();
  await proxy?.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const things = (token?: string) => {
  const req = request(resource).get('/things');
  return token === undefined ? req : req.set(bearer(token));
};
const jtiOf = (token: string) => String(decodeJwt(token).payload.jti);

describe('verifying locally', () => {
  it('accepts a live access token with no introspection call, and says who it is', async () => {
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'reviewer' });
    const access = await refreshAccess(t, (await createPat(t, member)).token);
    const before = calls.introspect;
    const res = await things(access).expect(200);
    expect(res.body).toMatchObject({
      sub: String(member.userId),
      userId: member.userId,
      organizationId: owner.organizationId,
      role: 'reviewer',
      via: 'stream',
      claims: { token_type: 'access', pat: expect.any(String), org_id: owner.organizationId },
    });
    expect(calls.introspect).toBe(before);
  });

  it('answers 401 with an RFC 6750 challenge: no token, garbage, a PAT, another organization’s token', async () => {
    const none = await things().expect(401);
    expect(none.headers['www-authenticate']).toBe(`Bearer realm="${issuer}"`);
    const outsider = await createMember(t, { role: 'owner' });
    const pat = (await createPat(t, owner)).token;
    const foreign = await refreshAccess(t, (await createPat(t, outsider)).token);
    for (const token of ['garbage', pat, foreign]) {
      const res = await things(token).expect(401);
      expect(res.headers['www-authenticate']).toMatch(
        new RegExp(`^Bearer realm="${issuer}", error="invalid_token", error_description="[^"]+"$`),
      );
      expect(res.body).toMatchObject({ error: 'invalid_token' });
    }
    const malformed = await request(resource).get('/things').set('Authorization', 'Basic abc').expect(401);
    expect(malformed.body).toMatchObject({ error: 'invalid_request' });
  });
});

describe('learning revocations from the stream', () => {
  it('refuses a PAT’s access tokens once Latchkey announces its revocation, with no introspection call', async () => {
    const pat = await createPat(t, owner);
    const access = await refreshAccess(t, pat.token);
    await things(access).expect(200);
    const before = calls.introspect;
    await request(t.app).post('/api/token/blacklist').send({ refresh: pat.token }).expect(204);
    await when('the revocation reaches the middleware', revoked(jtiOf(pat.token)));
    const res = await things(access).expect(401);
    expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(calls.introspect).toBe(before);
  });

  it('lowers the role of a demoted member, and refuses a removed one', async () => {
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'manager' });
    const access = await refreshAccess(t, (await createPat(t, member)).token);
    const admin = await loginAccess(t, owner);
    const membership = `/api/organizations/${owner.organizationId}/memberships/${member.userId}`;
    const announced = (role: string | null) => () =>
      events.some((e) => e.type === 'membership_changed' && e.data.user_id === member.userId && e.data.role === role);
    const before = calls.introspect;
    await request(t.app).patch(membership).set(bearer(admin)).send({ role: 'annotator' }).expect(200);
    await when('the demotion reaches the middleware', announced('annotator'));
    expect((await things(access).expect(200)).body).toMatchObject({ role: 'annotator', via: 'stream' });
    await request(t.app).delete(membership).set(bearer(admin)).expect(204);
    await when('the removal reaches the middleware', announced(null));
    await things(access).expect(401);
    expect(calls.introspect).toBe(before);
  });

  it('refuses a login’s access token once its session ended', async () => {
    const member = await createMember(t, { organizationId: owner.organizationId, role: 'reviewer' });
    const access = await loginAccess(t, member);
    await things(access).expect(200);
    await request(t.app).post('/api/auth/logout').set(bearer(access)).expect(204);
    const sid = String(decodeJwt(access).payload.sid);
    await when('the end of the session reaches the middleware', () =>
      events.some((e) => e.type === 'session_ended' && e.data.sid === sid),
    );
    await things(access).expect(401);
  });

  it('refuses PAT-derived tokens while the organization has PATs off', async () => {
    const access = await refreshAccess(t, (await createPat(t, owner)).token);
    const admin = await loginAccess(t, owner);
    const policy = (enabled: boolean) => () =>
      events.some((e) => e.type === 'policy_changed' && e.data.api_tokens_enabled === enabled);
    await request(t.app).post('/api/jwt/settings').set(bearer(admin)).send({ api_tokens_enabled: false }).expect(200);
    try {
      await when('PATs off reaches the middleware', policy(false));
      await things(access).expect(401);
      // A login's token is not an API token.
      await things(admin).expect(200);
    } finally {
      events.length = 0;
      await request(t.app).post('/api/jwt/settings').set(bearer(admin)).send({ api_tokens_enabled: true }).expect(200);
    }
    await when('PATs on reaches the middleware', policy(true));
    await things(access).expect(200);
  });

  it('fetches the JWKS again when a new key signs', async () => {
    const { key } = await rotateSigningKey(t.database.db, t.box, 'ES256', new Date(t.clock()));
    await when('the rotation reaches the middleware', () =>
      events.some((e) => e.type === 'key_rotated' && e.data.kid === key.kid),
    );
    await t.state.sync();
    const access = await refreshAccess(t, (await createPat(t, owner)).token);
    expect(decodeJwt(access).header.kid).toBe(key.kid);
    await things(access).expect(200);
  });
});

describe('with the stream cut', () => {
  it('introspects every request instead, and trusts the stream again once it resumed', async () => {
    const access = await refreshAccess(t, (await createPat(t, owner)).token);
    const doomed = await createPat(t, owner);
    const doomedAccess = await refreshAccess(t, doomed.token);
    await things(doomedAccess).expect(200);
    await proxy.cut();
    try {
      await when('the middleware sees the stream down', () => middleware.status === 'down');
      const before = calls.introspect;
      expect((await things(access).expect(200)).body).toMatchObject({ via: 'introspection' });
      expect(calls.introspect).toBe(before + 1);
      // Revoked while the stream is down: introspection refuses it.
      await request(t.app).post('/api/token/blacklist').send({ refresh: doomed.token }).expect(204);
      await things(doomedAccess).expect(401);
      expect(calls.introspect).toBe(before + 2);
    } finally {
      await proxy.restore();
    }
    // Back, resumed from its Last-Event-ID: what it missed arrived, and it judges locally again.
    await when(
      'the stream resumed with the revocation it missed',
      () => middleware.status === 'ready' && revoked(jtiOf(doomed.token))(),
    );
    const before = calls.introspect;
    await things(doomedAccess).expect(401);
    expect((await things(access).expect(200)).body).toMatchObject({ via: 'stream' });
    expect(calls.introspect).toBe(before);
  });
});

describe('a reset', () => {
  it('drops what the middleware held, introspects until the replay is done, then judges locally again', async () => {
    const revokedBefore = await createPat(t, owner);
    const revokedAccess = await refreshAccess(t, revokedBefore.token);
    await request(t.app).post('/api/token/blacklist').send({ refresh: revokedBefore.token }).expect(204);
    const service = await refreshAccess(t, (await createPat(t, owner)).token);
    const seen: LatchkeyStreamEvent[] = [];
    let ready = () => undefined as void;
    const isReady = new Promise<void>((resolve) => (ready = resolve));
    let introspections = 0;
    // Its first connection claims a Last-Event-ID the log never issued, as a client of another
    // Latchkey database would.
    let connections = 0;
    const second = latchkey({
      issuer,
      clock: t.clock,
      introspection: { token: () => Promise.resolve(service) },
      fetch: (input, init) => {
        const url = new URL(String(input));
        if (url.pathname === '/api/token/introspect') introspections++;
        if (url.pathname === '/api/token/events' && connections++ === 0)
          return fetch(url, {
            ...init,
            headers: { ...(init?.headers as Record<string, string>), 'Last-Event-ID': '999999999999' },
          });
        return fetch(url, init);
      },
      onEvent: (event) => seen.push(event),
      onStatus: (status) => status === 'ready' && ready(),
    });
    try {
      const app = express().get('/things', second, (req, res) => res.json(req.latchkey));
      await orTimeout(isReady, () => 'the second middleware is ready');
      expect(seen[0]).toMatchObject({ type: 'reset', data: { reason: 'unknown_event_id' } });
      expect(
        seen.findIndex(
          (e) => e.type === 'pat_revoked' && (e.data.jtis as string[]).includes(jtiOf(revokedBefore.token)),
        ),
      ).toBeGreaterThan(0);
      const before = introspections;
      await request(app).get('/things').set(bearer(revokedAccess)).expect(401);
      expect(introspections).toBe(before);
    } finally {
      second.close();
    }
  });
});
