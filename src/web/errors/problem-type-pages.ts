import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ProblemCatalogue, ProblemTypeInfo } from '../../errors/index.ts';
import { type ProblemEnv, sendProblem } from '../../http/problem-reply.ts';
import { html, type SafeHtml } from '../html.ts';

const NAME = /^[A-Za-z][A-Za-z0-9]{0,63}$/;

/** One problem type as `/errors/<name>` describes it in JSON. */
export interface ProblemTypeDescription {
  /** The problem `type` URI, this page's own address. */
  type: string;
  name: string;
  title: string;
  status: number;
  description: string;
}

/**
 * Every problem `type` URI (`<baseUrl>/errors/<name>`) resolves to a short description of the type: an HTML
 * page for browsers, JSON otherwise; `/errors/` lists them all. A name the catalogue does not hold is 404
 * problem+json (its name is never echoed).
 */
export function registerProblemTypePages(app: FastifyInstance, env: ProblemEnv): void {
  const describe = (name: string, info: ProblemTypeInfo): ProblemTypeDescription => ({
    type: `${env.baseUrl}/errors/${name}`,
    name,
    title: info.title,
    status: info.status,
    description: info.description,
  });
  const answer = (request: FastifyRequest, reply: FastifyReply, json: unknown, page: () => string) => {
    reply.header('vary', 'Accept').header('cache-control', 'public, max-age=300');
    if (wantsHtml(request)) return reply.type('text/html; charset=utf-8').send(page());
    return reply.type('application/json; charset=utf-8').send(JSON.stringify(json));
  };

  app.get('/errors/', async (request, reply) => {
    const items = sorted(env.problems).map(([name, info]) => describe(name, info));
    return answer(request, reply, { items }, () => indexPage(items));
  });

  app.get('/errors/:name', async (request, reply) => {
    const { name } = request.params as { name: string };
    const info = NAME.test(name) ? env.problems.get(name) : undefined;
    if (!info)
      return sendProblem(request, reply, env, 'notFound', { detail: 'There is no such problem type.' });
    const described = describe(name, info);
    return answer(request, reply, described, () => typePage(described));
  });
}

/** Browsers ask for HTML; API clients (JSON, `*\/*` or nothing) get JSON. */
function wantsHtml(request: FastifyRequest): boolean {
  return /\btext\/html\b/i.test(request.headers.accept ?? '');
}

function sorted(problems: ProblemCatalogue) {
  return problems.entries().sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b));
}

function layout(title: string, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} — Strongroom problem types</title>
<link rel="stylesheet" href="/static/strongroom.css">
</head>
<body>
<main id="main" class="container">
${body}
</main>
</body>
</html>`.toString();
}

function typePage(type: ProblemTypeDescription): string {
  return layout(
    type.title,
    html`<section class="card">
<h1>${type.title}</h1>
<dl class="details"><dt>Type</dt><dd><code>${type.type}</code></dd><dt>HTTP status</dt><dd>${type.status}</dd></dl>
<p>${type.description}</p>
<p>A problem's <code>id</code> names the request in the institution's logs: quote it when contacting support.</p>
<p><a href="/errors/">Every problem type</a></p>
</section>`,
  );
}

function indexPage(types: ProblemTypeDescription[]): string {
  return layout(
    'Problem types',
    html`<section class="card">
<h1>Problem types</h1>
<p>Errors are answered as RFC 9457 problem documents (<code>application/problem+json</code>); their <code>type</code> is one of these addresses.</p>
<div class="table-wrap"><table>
<thead><tr><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Meaning</th></tr></thead>
<tbody>${types.map((t) => html`<tr><td><a href="/errors/${t.name}">${t.name}</a></td><td>${t.status}</td><td>${t.description}</td></tr>`)}</tbody>
</table></div>
</section>`,
  );
}
