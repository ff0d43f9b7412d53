/**
 * A real nginx (Debian's package; .ci/run installs it) in front of a tiny upstream, with
 * Latchkey as its auth_request target: the README's configuration, exercised. Skipped, with the
 * reason printed, where nginx is not installed, unless LATCHKEY_REQUIRE_NGINX=1 (CI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freeLoopbackPort } from '../../src/db/embedded';
import { startTestApp, type TestApp } from '../support/app';
import { stopChild, track } from '../support/children';
import { createMember, createPat, refreshAccess, type Member } from '../support/factories';
import { nginx as nginxTool } from '../support/tools';
import { EVENT_TIMEOUT_MS, PROCESS_TEST_TIMEOUT_MS, until } from '../support/wait';

/** The README's nginx example, with ports filled in. */
export function nginxConfig(dir: string, listen: number, latchkey: number, upstream: number): string {
  return `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;

  server {
    listen 127.0.0.1:${listen};

    location = /_latchkey {
      internal;
      proxy_pass http://127.0.0.1:${latchkey}/api/auth/verify;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
    }

    location / {
      auth_request /_latchkey;
      auth_request_set $auth_user $upstream_http_x_auth_user_id;
      auth_request_set $auth_org $upstream_http_x_auth_org_id;
      auth_request_set $auth_role $upstream_http_x_auth_role;
      proxy_set_header X-Auth-User-Id $auth_user;
      proxy_set_header X-Auth-Org-Id $auth_org;
      proxy_set_header X-Auth-Role $auth_role;
      proxy_set_header Authorization "";
      proxy_set_header X-Api-Key "";
      proxy_pass http://127.0.0.1:${upstream};
    }

    # auth_request passes Latchkey's WWW-Authenticate through; this only makes the body JSON.
    error_page 401 = @unauthorized;
    location @unauthorized {
      default_type application/json;
      return 401 '{"status_code": 401, "code": "not_authenticated", "detail": "Authentication failed."}';
    }
  }
}
`;
}

const listen = (server: http.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );

nginxTool.describe('nginx auth_request in front of an upstream', () => {
  let t: TestApp;
  let member: Member;
  let latchkey: http.Server;
  let upstream: http.Server;
  let nginx: ChildProcess;
  let dir: string;
  let base: string;

  beforeAll(async () => {
    const binary = nginxTool.binary();
    t = await startTestApp();
    member = await createMember(t, { role: 'reviewer' });
    latchkey = http.createServer(t.app);
    upstream = http.createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(
        JSON.stringify({
          user: req.headers['x-auth-user-id'],
          org: req.headers['x-auth-org-id'],
          role: req.headers['x-auth-role'],
          authorization: req.headers.authorization ?? null,
          path: req.url,
        }),
      );
    });
    const [lk, up, port] = [await listen(latchkey), await listen(upstream), await freeLoopbackPort()];
    dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-nginx-'));
    await writeFile(path.join(dir, 'nginx.conf'), nginxConfig(dir, port, lk, up));
    nginx = track(
      spawn(binary, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], {
        stdio: 'inherit',
      }),
    );
    base = `http://127.0.0.1:${port}`;
    // Up once it answers; an nginx that cannot start (a bad config, a taken port) exits, and that fails at once.
    let failed: string | undefined;
    nginx
      .once('error', (err) => (failed = err.message))
      .once('exit', (code, signal) => (failed = `exited (${code ?? signal})`));
    await until(`nginx (${binary}) answers on ${base}`, async () => {
      if (failed)
        throw new Error(
          `nginx (${binary}) ${failed}; its error log: ${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '(none)')}`,
        );
      return fetch(`${base}/`).then(
        () => true,
        () => false,
      );
    });
  }, PROCESS_TEST_TIMEOUT_MS);

  afterAll(async () => {
    // Graceful: the master stops its workers (a SIGKILLed master would leave them serving).
    if (nginx) await stopChild(nginx, 'SIGQUIT', EVENT_TIMEOUT_MS);
    latchkey?.close();
    upstream?.close();
    await t?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, PROCESS_TEST_TIMEOUT_MS);

  it('passes an authenticated request with the identity headers, and never the credential', async () => {
    const access = await refreshAccess(t, (await createPat(t, member)).token);
    const res = await fetch(`${base}/reports?x=1`, { headers: { Authorization: `Bearer ${access}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      user: String(member.userId),
      org: String(member.organizationId),
      role: 'reviewer',
      authorization: null,
      path: '/reports?x=1',
    });
    const viaKey = await fetch(`${base}/`, { headers: { 'X-Api-Key': access } });
    expect(viaKey.status).toBe(200);
  });

  it('stops a request without credentials with a bare challenge, and a bad token with invalid_token', async () => {
    const none = await fetch(`${base}/`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="latchkey"');
    const pat = (await createPat(t, member)).token;
    const bad = await fetch(`${base}/`, { headers: { Authorization: `Bearer ${pat}` } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
  });

  it('stops a revoked PAT’s access token at once', async () => {
    const pat = await createPat(t, member);
    const access = await refreshAccess(t, pat.token);
    expect((await fetch(`${base}/`, { headers: { Authorization: `Bearer ${access}` } })).status).toBe(200);
    await fetch(`http://127.0.0.1:${(latchkey.address() as AddressInfo).port}/api/token/blacklist`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ refresh: pat.token }),
    });
    expect((await fetch(`${base}/`, { headers: { Authorization: `Bearer ${access}` } })).status).toBe(401);
  });
});
