// Renders scripts/scale-out/nginx.conf.template, the nginx snippet that puts N Strongroom instances behind
// one TLS endpoint (docs/deployment.md). The scale-out proof renders it the same way.
//
//   node scripts/scale-out/nginx-config.ts --listen 443 --server-name api.bank.example \
//     --certificate /etc/ssl/api.pem --certificate-key /etc/ssl/private/api.key \
//     --upstream 10.0.0.11:8080 --upstream 10.0.0.12:8080 --upstream 10.0.0.13:8080 > strongroom.conf
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

export const TEMPLATE_FILE = path.join(import.meta.dirname, 'nginx.conf.template');

export interface NginxValues {
  /** nginx `listen` value: a port, or address:port. */
  listen: string;
  /** The public host name (`server_name`; also the host of `--public-url`). */
  serverName: string;
  /** PEM certificate chain and its key. */
  certificate: string;
  certificateKey: string;
  /** The instances, `host:port` each. */
  upstreams: readonly string[];
  /** Passive health: an instance that failed this many times is skipped for `failTimeout`. Default 1 / 2s. */
  maxFails?: number;
  failTimeout?: string;
}

/** A value that could end a directive or open a block would let a parameter rewrite the config. */
const SAFE_VALUE = /^[A-Za-z0-9_.:/\-[\]]+$/;

/** The template with every `{{placeholder}}` filled in; throws on an unsafe value or a leftover. */
export function renderNginxConfig(
  values: NginxValues,
  template = readFileSync(TEMPLATE_FILE, 'utf8'),
): string {
  if (values.upstreams.length === 0) throw new Error('give at least one --upstream host:port');
  const scalars: Record<string, string> = {
    listen: values.listen,
    server_name: values.serverName,
    certificate: values.certificate,
    certificate_key: values.certificateKey,
  };
  for (const [name, value] of Object.entries(scalars).concat(values.upstreams.map((u) => ['upstream', u]))) {
    if (!SAFE_VALUE.test(value)) throw new Error(`${name}: "${value}" is not a plain host, port or path`);
  }
  const port = /(?:^|:)(\d+)$/.exec(values.listen)?.[1];
  const filled: Record<string, string> = {
    ...scalars,
    public_port_suffix: port && port !== '443' ? `:${port}` : '',
    upstream_servers: values.upstreams
      .map(
        (address) =>
          `    server ${address} max_fails=${values.maxFails ?? 1} fail_timeout=${values.failTimeout ?? '2s'};`,
      )
      .join('\n'),
  };
  const text = template.replace(/\{\{(\w+)\}\}/g, (whole, name: string) => filled[name] ?? whole);
  const left = /\{\{\w+\}\}/.exec(text);
  if (left) throw new Error(`the template has an unknown placeholder ${left[0]}`);
  return text;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string', default: '443' },
      'server-name': { type: 'string' },
      certificate: { type: 'string' },
      'certificate-key': { type: 'string' },
      upstream: { type: 'string', multiple: true },
    },
  });
  const missing = ['server-name', 'certificate', 'certificate-key', 'upstream'].filter(
    (name) => values[name as keyof typeof values] === undefined,
  );
  if (missing.length > 0) {
    console.error(`nginx-config: missing ${missing.map((m) => `--${m}`).join(', ')}`);
    process.exit(2);
  }
  process.stdout.write(
    renderNginxConfig({
      listen: values.listen,
      serverName: values['server-name'] as string,
      certificate: values.certificate as string,
      certificateKey: values['certificate-key'] as string,
      upstreams: values.upstream ?? [],
    }),
  );
}
