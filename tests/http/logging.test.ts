import request from 'supertest';
import { captureLogs, startTestApp, type TestApp } from '../support/app';

// Distinct, greppable stand-ins for every kind of secret a request can carry.
const SECRETS = {
  bearer: 'eyJhbGciOiJFUzI1NiJ9.eyJzZWNyZXQiOiJiZWFyZXIifQ.c2lnbmF0dXJlLWJlYXJlcg',
  legacy: 'lk_legacy_SECRET_0123456789abcdef',
  apiKey: 'xapikey_SECRET_fedcba9876543210',
  cookie: 'sessionid_SECRET_cookie_value',
  csrf: 'csrftoken_SECRET_value',
  query: 'query_SECRET_token_value',
  body: 'body_SECRET_refresh_value',
  form: 'form_SECRET_password_value',
};

describe('logs carry no secrets', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('logs one allow-listed line per request and no credential from any place a request carries one', async () => {
    // The sink is the whole file's: count only the lines this test's requests write.
    const from = t.logs.lines.length;
    await request(t.app).get('/healthz').set('Authorization', `Bearer ${SECRETS.bearer}`);
    await request(t.app).get('/api/token/').set('Authorization', `Token ${SECRETS.legacy}`);
    await request(t.app)
      .get('/api/current-user/whoami')
      .set('X-Api-Key', SECRETS.apiKey)
      .set('Cookie', `sessionid=${SECRETS.cookie}; csrftoken=${SECRETS.csrf}`)
      .set('X-CSRFToken', SECRETS.csrf);
    await request(t.app).get(`/api/token/introspect?token=${SECRETS.query}`);
    await request(t.app).post('/api/token/refresh/').send({ refresh: SECRETS.body });
    await request(t.app).post('/api/auth/login').type('form').send(`email=a@b.co&password=${SECRETS.form}`);
    await request(t.app)
      .post('/api/token/refresh/')
      .set('Content-Type', 'application/json')
      .send(`{"refresh": "${SECRETS.body}"`); // malformed

    const lines = t.logs.lines.slice(from).map((l) => JSON.parse(l));
    const access = lines.filter((l) => l.msg === 'request');
    expect(access).toHaveLength(7);
    expect(access[3]).toMatchObject({ method: 'GET', path: '/api/token/introspect', status: 405 });
    expect(Object.keys(access[0]).sort()).toEqual([
      'level',
      'method',
      'ms',
      'msg',
      'path',
      'reqId',
      'service',
      'status',
      'time',
    ]);
    const text = t.logs.text();
    for (const [where, secret] of Object.entries(SECRETS))
      expect({ where, leaked: text.includes(secret) }).toEqual({ where, leaked: false });
  });

  it('keeps a token pasted into a URL path out of the access log', async () => {
    const from = t.logs.lines.length;
    const pat = 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJlLXBhdGg';
    const legacy = 'lkt_0123456789ABCDEFGHIJabcdefghijQWERTY';
    for (const path of [
      `/api/token/${pat}`,
      `/api/token/${pat.split('.').slice(0, 2).join('.')}/`,
      `/api/token/${legacy}`,
    ])
      await request(t.app).get(path);
    const paths = t.logs.lines
      .slice(from)
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'request')
      .slice(-3)
      .map((l) => l.path);
    expect(paths).toEqual(['/api/token/[redacted]', '/api/token/[redacted]/', '/api/token/[redacted]']);
    expect(t.logs.text()).not.toContain(pat.split('.')[1]);
    expect(t.logs.text()).not.toContain(legacy);
  });

  it('redacts credential-shaped fields logged by hand', () => {
    const sink = captureLogs();
    sink.logger.info(
      {
        headers: { authorization: `Bearer ${SECRETS.bearer}`, 'x-api-key': SECRETS.apiKey, cookie: SECRETS.cookie },
        refresh: SECRETS.body,
        user: { password: SECRETS.form },
      },
      'by hand',
    );
    const line = JSON.parse(sink.lines[0]!);
    expect(line.headers).toEqual({ authorization: '[redacted]', 'x-api-key': '[redacted]', cookie: '[redacted]' });
    expect(line.refresh).toBe('[redacted]');
    expect(line.user.password).toBe('[redacted]');
    for (const secret of Object.values(SECRETS)) expect(sink.text()).not.toContain(secret);
  });
});
