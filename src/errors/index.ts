export { AppError, type AppErrorOptions, isAppError, problems, type ValidationIssue } from './app-error.ts';
export { type FailedDependency, failedDependency } from './dependency-failure.ts';
export { buildProblem, PROBLEM_CONTENT_TYPE, type ProblemDocument, type ProblemInput } from './problem.ts';
export { createProblemCatalogue, type ProblemCatalogue, ProblemTypeConflict } from './problem-catalogue.ts';
export {
  GENERIC_PROBLEM_TYPES,
  type GenericProblemTypeName,
  type ProblemCatalogueEntries,
  type ProblemTypeInfo,
  type ProblemTypeName,
  type ProblemTypes,
  typeNameForStatus,
} from './problem-types.ts';
