/**
 * @latchkey/client against a real Latchkey over HTTP: a PAT in, access tokens out, refreshed
 * ahead of expiry, once more on a 401 token_expired, and one refresh shared by concurrent calls.
 * The server's clock and the client's are frozen and moved by the test.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LatchkeyClient, LatchkeyError } from '../../packages/client/src';
import { frozenClock, startTestApp, type TestApp } from '../support/app';
import { createMember, createPat, type Member } from '../support/factories';

let t: TestApp;
let server: http.Server;
let baseUrl: string;
let owner: Member;
let pat: string;

beforeAll(async () => {
  t = await startTestApp();
  server = http.createServer(t.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  owner = await createMember(t, { role: 'owner' });
  pat = (await createPat(t, owner)).token;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

/** A client on the server's clock (moved separately when a test wants them apart), counting its refreshes. */
function client(options: { clock?: () => number; pat?: string } = {}) {
  const refreshes: number[] = [];
  const counting: typeof fetch = (input, init) => {
    if (String(input).endsWith('/api/token/refresh')) refreshes.push(refreshes.length);
    return fetch(input, init);
  };
  const latchkey = new LatchkeyClient({
    baseUrl,
    pat: options.pat ?? pat,
    fetch: counting,
    clock: options.clock ?? t.clock,
  });
  return { latchkey, refreshes: () => refreshes.length };
}

it('exchanges the PAT for an access token and calls the API with it', async () => {
  const { latchkey, refreshes } = client();
  expect(await latchkey.whoami()).toMatchObject({ id: owner.userId, email: owner.email, role: 'owner' });
  expect(await latchkey.whoami()).toMatchObject({ id: owner.userId });
  expect(refreshes()).toBe(1);
});

it('lets a hundred concurrent calls share one refresh', async () => {
  const { latchkey, refreshes } = client();
  const answers = await Promise.all(Array.from({ length: 100 }, () => latchkey.whoami<{ id: number }>()));
  expect(answers.every((user) => user.id === owner.userId)).toBe(true);
  expect(refreshes()).toBe(1);
});

it('refreshes ahead of exp, not after', async () => {
  const clientClock = frozenClock(t.clock());
  const { latchkey, refreshes } = client({ clock: clientClock });
  const first = await latchkey.accessToken();
  // The organization's access TTL is 300 s; 30 s ahead is the default margin.
  clientClock.advance(269);
  expect(await latchkey.accessToken()).toBe(first);
  clientClock.advance(1);
  expect(await latchkey.accessToken()).not.toBe(first);
  expect(refreshes()).toBe(2);
});

it('refreshes once and retries once when the server says token_expired', async () => {
  // The client's clock stands still while the server's runs past the token's exp (and leeway).
  const clientClock = frozenClock(t.clock());
  const { latchkey, refreshes } = client({ clock: clientClock });
  await latchkey.whoami();
  t.clock.advance(400);
  try {
    expect(await latchkey.whoami()).toMatchObject({ id: owner.userId });
    expect(refreshes()).toBe(2);
  } finally {
    t.clock.set(clientClock());
  }
});

it('surfaces a refused PAT as a LatchkeyError with the contract code, without retrying', async () => {
  const { latchkey, refreshes } = client({ pat: `${pat.slice(0, -4)}AAAA` });
  const refused = await latchkey.whoami().catch((err: unknown) => err);
  expect(refused).toBeInstanceOf(LatchkeyError);
  expect(refused).toMatchObject({ status: 401, code: 'token_invalid' });
  expect(refreshes()).toBe(1);
});

it('makes typed calls generated from the OpenAPI document, with the same token handling', async () => {
  const { latchkey, refreshes } = client();
  const { data, response } = await latchkey.api.GET('/api/current-user/whoami');
  expect(response.status).toBe(200);
  expect(data?.username).toBe(owner.email);
  const created = await latchkey.api.POST('/api/token', { body: { name: 'from the typed client' } });
  expect(created.response.status).toBe(201);
  expect(created.data?.name).toBe('from the typed client');
  expect(refreshes()).toBe(1);
});
