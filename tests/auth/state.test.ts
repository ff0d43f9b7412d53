/**
 * The caches' one subtle rule: a read that raced a change to one of its keys answers its
 * request but is not kept, since the change may be newer than what the read saw.
 */
import { startTestApp, type TestApp } from '../support/app';
import { createMember, createPat, decodeJwt, type Member } from '../support/factories';
import { queriesDuring } from '../support/queries';

let t: TestApp;
let owner: Member;
beforeAll(async () => {
  t = await startTestApp();
  owner = await createMember(t, { role: 'owner' });
});
afterAll(() => t.close());

/**
 * A new PAT's jti, once every change committed so far (this PAT's, its login's, an earlier
 * test's) has reached the state layer: a notification arriving late would evict what a test
 * reads next and make it count a query that is not the one it tests.
 */
const jtiOf = async () => {
  const jti = decodeJwt((await createPat(t, owner)).token).payload.jti as string;
  await t.state.sync();
  return jti;
};

it('a cold read is kept: the next lookup costs no query', async () => {
  const jti = await jtiOf();
  expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(1);
  expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(0);
});

it('a read that a change to its own key overtook is answered but not kept', async () => {
  const jti = await jtiOf();
  const reading = t.state.pat(jti);
  // The notification for this PAT arrives while the read is on its way.
  t.state.apply({ table: 'personal_access_tokens', op: 'UPDATE', row: { jti } });
  expect((await reading)?.credential.revokedReason).toBeNull();
  expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(1);
  expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(0);
});

it('a change to the holder (the user) during the read keeps the PAT but not the user: the next lookup reads again', async () => {
  const jti = await jtiOf();
  const reading = t.state.pat(jti);
  t.state.apply({ table: 'users', op: 'UPDATE', row: { id: owner.userId } });
  await reading;
  expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(1);
  expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(0);
});

it('a change to another key does not stop the read from being kept', async () => {
  const jti = await jtiOf();
  const reading = t.state.pat(jti);
  t.state.apply({ table: 'personal_access_tokens', op: 'UPDATE', row: { jti: '0'.repeat(32) } });
  await reading;
  expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(0);
});

it('nothing read while the feed is lost is kept, and the caches are dropped', async () => {
  const jti = await jtiOf();
  await t.state.pat(jti);
  t.state.lost();
  try {
    expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(1);
    expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(1);
    expect(t.state.size).toBe(0);
  } finally {
    t.state.listening();
  }
  await t.state.pat(jti);
  expect(await queriesDuring(t.database, () => t.state.pat(jti))).toBe(0);
});
