/**
 * A partition that leaves every open connection dead (no FIN, no RST: what a NAT or conntrack
 * drop does): while it lasts, requests that need the database get a 503, not a hang or a 500;
 * once the network returns, the instance heals by itself (statements time out, their dead
 * connections are dropped, fresh ones are opened) and no acknowledged write is lost.
 */
import request from 'supertest';
import { startTestApp, type TestApp } from '../support/app';
import { itWithConcurrentConnections } from '../support/concurrency';
import { bearer, createMember, loginAccess } from '../support/factories';
import { until } from '../support/wait';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({
    viaProxy: true,
    env: { LATCHKEY_DB_QUERY_TIMEOUT_SECONDS: '2', LATCHKEY_PAT_LIMIT: '1000', LATCHKEY_PAT_CREATE_PER_MINUTE: '1000' },
  });
});
afterAll(() => t.close());

itWithConcurrentConnections(
  '503 while partitioned, ready and writing again by itself once healed, nothing acknowledged lost',
  async () => {
    const owner = await createMember(t, { role: 'owner' });
    const headers = bearer(await loginAccess(t, owner));
    const acknowledged: number[] = [];
    const create = async () => {
      const res = await request(t.app).post('/api/token/').set(headers).send({ name: 'around a partition' });
      if (res.status === 201) acknowledged.push(res.body.id as number);
      return res;
    };
    for (let i = 0; i < 3; i++) expect((await create()).status).toBe(201);

    t.proxy!.partition();
    try {
      const during = await Promise.all([create(), create(), request(t.app).get('/readyz')]);
      for (const res of during)
        expect({ status: res.status, code: res.body.code }).toEqual({ status: 503, code: 'service_unavailable' });
    } finally {
      t.proxy!.heal();
    }
    await until('ready again', async () => (await request(t.app).get('/readyz')).status === 200);
    await until('a PAT can be created again', async () => (await create()).status === 201);

    const stored = await t.database.prisma.personalAccessToken.findMany({
      where: { id: { in: acknowledged } },
      select: { id: true },
    });
    expect(stored.map((row) => row.id).sort()).toEqual([...acknowledged].sort());
  },
);
