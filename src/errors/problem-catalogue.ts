import {
  GENERIC_PROBLEM_TYPES,
  type ProblemCatalogueEntries,
  type ProblemTypeInfo,
  type ProblemTypeName,
} from './problem-types.ts';

/**
 * One app's problem types at run time: the generic ones and every module's, assembled by `createApp`, plus
 * the types upstream OpenAPI documents declare (registered when the gateway compiles them). Renders
 * `title`/`status` of problems and serves `/errors/<name>`.
 */
export interface ProblemCatalogue {
  /** The type's entry, or undefined for a name nobody declared. */
  get(name: string): ProblemTypeInfo | undefined;
  /** Every type, by name. */
  entries(): [ProblemTypeName, ProblemTypeInfo][];
  /**
   * Add a type declared at run time (an OpenAPI document's `x-strongroom-entitlement` answer). Returns its
   * name, now a known type. A name already declared with another status throws.
   */
  register(name: string, info: ProblemTypeInfo): ProblemTypeName;
}

/** Thrown when two catalogues give one problem type different statuses. */
export class ProblemTypeConflict extends Error {
  constructor(name: string, status: number, other: number) {
    super(`problem type ${name} is declared with status ${status} and with status ${other}`);
    this.name = 'ProblemTypeConflict';
  }
}

/** The generic types plus `catalogues` (each module's). One name, one status: a conflict throws at start. */
export function createProblemCatalogue(...catalogues: ProblemCatalogueEntries[]): ProblemCatalogue {
  const types = new Map<string, ProblemTypeInfo>();
  const register = (name: string, info: ProblemTypeInfo): ProblemTypeName => {
    const existing = types.get(name);
    if (existing && existing.status !== info.status)
      throw new ProblemTypeConflict(name, existing.status, info.status);
    if (!existing) types.set(name, Object.freeze({ ...info }));
    // A name this catalogue holds is a problem type, whether the compiler saw it declared or not.
    return name as ProblemTypeName;
  };
  for (const catalogue of [GENERIC_PROBLEM_TYPES, ...catalogues]) {
    for (const [name, info] of Object.entries(catalogue)) register(name, info);
  }
  return {
    get: (name) => types.get(name),
    entries: () => [...types] as [ProblemTypeName, ProblemTypeInfo][],
    register,
  };
}
