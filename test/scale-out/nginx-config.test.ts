import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { renderNginxConfig } from '../../scripts/scale-out/nginx-config.ts';
import { loadTlsMaterial } from '../../src/http/tls.ts';
import { systemClock } from '../../src/lib/clock.ts';

const NGINX = '/usr/sbin/nginx';
const values = {
  listen: '443',
  serverName: 'api.bank.example',
  certificate: '/etc/ssl/api.pem',
  certificateKey: '/etc/ssl/private/api.key',
  upstreams: ['10.0.0.11:8080', '10.0.0.12:8080'],
};

describe('the nginx template of docs/deployment.md', () => {
  test('renders one server line per instance and overwrites the forwarded headers', () => {
    const text = renderNginxConfig(values);
    assert.match(text, /server 10\.0\.0\.11:8080 max_fails=1 fail_timeout=2s;\n\s+server 10\.0\.0\.12:8080 /);
    assert.match(text, /listen 443 ssl;/);
    assert.match(text, /--public-url https:\/\/api\.bank\.example\n/);
    assert.match(text, /proxy_set_header X-Forwarded-For \$remote_addr;/);
    assert.doesNotMatch(text, /\$proxy_add_x_forwarded_for|\{\{/);
  });

  test('names a non-default port in the public URL it documents', () => {
    assert.match(
      renderNginxConfig({ ...values, listen: '127.0.0.1:8443' }),
      /--public-url https:\/\/api\.bank\.example:8443\n/,
    );
  });

  test('refuses a value that could add directives', () => {
    assert.throws(
      () => renderNginxConfig({ ...values, serverName: 'x; include /etc/passwd' }),
      /server_name/,
    );
    assert.throws(() => renderNginxConfig({ ...values, upstreams: ['10.0.0.1:80 backup;\n}'] }), /upstream/);
    assert.throws(() => renderNginxConfig({ ...values, upstreams: [] }), /at least one/);
  });

  test('is a configuration nginx accepts (nginx -t)', {
    skip: !existsSync(NGINX) && 'nginx is not installed',
  }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'strongroom-nginx-'));
    try {
      await loadTlsMaterial({ dataDir: dir, tlsCert: undefined, tlsKey: undefined }, systemClock);
      writeFileSync(
        path.join(dir, 'strongroom.conf'),
        renderNginxConfig({
          ...values,
          listen: '127.0.0.1:8443',
          certificate: path.join(dir, 'tls', 'server.pem'),
          certificateKey: path.join(dir, 'tls', 'server-key.pem'),
        }),
      );
      writeFileSync(
        path.join(dir, 'nginx.conf'),
        `pid ${dir}/nginx.pid;\nevents {}\nhttp {\n  include ${dir}/strongroom.conf;\n}\n`,
      );
      const result = spawnSync(
        NGINX,
        ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
        { encoding: 'utf8' },
      );
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, /syntax is ok/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
