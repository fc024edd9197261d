export { AppError, type AppErrorOptions, isAppError, problems, type ValidationIssue } from './app-error.ts';
export { buildProblem, PROBLEM_CONTENT_TYPE, type ProblemDocument, type ProblemInput } from './problem.ts';
export { defineProblemTypes, type ProblemTypeInfo, problemType, typeNameForStatus } from './problem-types.ts';
