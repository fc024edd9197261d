import assert from 'node:assert/strict';
import { AppError } from '../../src/errors/index.ts';

/**
 * A validator for `assert.rejects`: the promise fails with an AppError of this HTTP status (a number)
 * or problem type (a name such as `invalidAccountId`), and, when given, names `field` in its `errors`.
 */
export function rejectsWith(expected: number | string, field?: string) {
  return (error: unknown): true => {
    assert.ok(error instanceof AppError, String(error));
    if (typeof expected === 'number') assert.equal(error.status, expected, error.detail);
    else assert.equal(error.type, expected, error.detail);
    if (field)
      assert.ok(
        error.errors?.some((e) => e.name === field),
        JSON.stringify(error.errors),
      );
    return true;
  };
}

/** An answer as `app.http.inject()` gives it, or a fetch `Response` with its parsed body. */
type Answer =
  | { statusCode: number; headers: Record<string, unknown>; body: string }
  | { status: number; headers: Headers };

/** Headers that differ between any two answers (DESIGN.md §1: identical answers differ only in these). */
const PER_REQUEST_HEADERS = ['x-request-id', 'date'];

/**
 * An answer with its per-request parts blanked (the `X-Request-Id` and `Date` headers; the problem's
 * `id`, `instance` and `occurredAt`), for "identical answers" comparisons. `ignoreHeaders` drops more,
 * e.g. the rate-limit headers when the answers come from different keys.
 */
export function normalized(
  answer: Answer,
  parsedBody?: Record<string, unknown>,
  options: { ignoreHeaders?: string[] } = {},
) {
  const raw = 'statusCode' in answer ? answer.headers : Object.fromEntries(answer.headers);
  const ignored = new Set([...PER_REQUEST_HEADERS, ...(options.ignoreHeaders ?? [])]);
  const headers = Object.fromEntries(Object.entries(raw).filter(([name]) => !ignored.has(name)));
  const body = {
    ...(parsedBody ?? (JSON.parse((answer as { body: string }).body) as Record<string, unknown>)),
  };
  body.id = body.instance = body.occurredAt = '';
  return { status: 'statusCode' in answer ? answer.statusCode : answer.status, headers, body };
}
