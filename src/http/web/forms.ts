import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CSRF_FIELD } from './csrf.ts';

/**
 * Form schemas: JSON Schema for Fastify's validator (so a bad form is a 400 before any handler runs, and
 * a field outside the form is refused, never dropped) that also carry the TypeScript type of the parsed
 * form, so handlers read typed values without casts. Enumerated fields take the `as const` lists of the
 * domain model. Values arrive as strings; the web scopes coerce them (`'86400'` → 86400, a single
 * checkbox → a one-item list).
 */
export interface Field<T> {
  readonly schema: Readonly<Record<string, unknown>>;
  readonly required: boolean;
  /** Type-level only: the parsed value. */
  readonly value?: T;
}

export const field = {
  text(maxLength: number, minLength = 0): Field<string> {
    return { schema: { type: 'string', minLength, maxLength }, required: true };
  },
  oneOf<const T extends readonly string[]>(values: T): Field<T[number]> {
    return { schema: { type: 'string', enum: [...values] }, required: true };
  },
  integer(minimum: number, maximum: number): Field<number> {
    return { schema: { type: 'integer', minimum, maximum }, required: true };
  },
  /** Repeated fields (checkbox groups): zero, one or many values. */
  list(maxItems: number, maxLength: number): Field<string[]> {
    return {
      schema: { type: 'array', maxItems, items: { type: 'string', maxLength } },
      required: true,
    };
  },
  listOf<const T extends readonly string[]>(values: T): Field<T[number][]> {
    return {
      schema: { type: 'array', maxItems: values.length, items: { type: 'string', enum: [...values] } },
      required: true,
    };
  },
};

/** A field the form may leave out. */
export function optional<T>(f: Field<T>): Field<T | undefined> {
  return { schema: f.schema, required: false };
}

/** A field the form may leave out, filled with `value` by the validator when it does. */
export function withDefault<T>(f: Field<T>, value: T): Field<T> {
  return { schema: { ...f.schema, default: value }, required: false };
}

type ValueOf<F> = F extends Field<infer T> ? T : never;

/** A form's body schema and, at type level, its parsed value. */
export interface Form<V> {
  readonly body: Readonly<Record<string, unknown>>;
  /** Type-level only. */
  readonly value?: V;
}

/** Every form has the hidden token field; the guard checks it before validation. */
const TOKEN_FIELD = field.text(128);

export function form<F extends Record<string, Field<unknown>>>(
  fields: F,
): Form<{ [K in keyof F]: ValueOf<F[K]> }> {
  const all: Record<string, Field<unknown>> = { [CSRF_FIELD]: TOKEN_FIELD, ...fields };
  return {
    body: {
      type: 'object',
      properties: Object.fromEntries(Object.entries(all).map(([name, f]) => [name, f.schema])),
      required: Object.entries(all)
        .filter(([, f]) => f.required)
        .map(([name]) => name),
      additionalProperties: false,
    },
  };
}

/** The request of a form route: its parsed form and its path parameters. */
export type FormRequest<V> = FastifyRequest<{ Body: V; Params: Record<string, string> }>;

/** Register a POST route that takes `form`: validated by its schema, typed in the handler. */
export function postForm<V>(
  scope: FastifyInstance,
  url: string,
  schema: Form<V>,
  handler: (request: FormRequest<V>, reply: FastifyReply) => Promise<unknown>,
): void {
  scope.post<{ Body: V; Params: Record<string, string> }>(url, { schema: { body: schema.body } }, handler);
}
