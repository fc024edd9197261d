export {
  type Config,
  type ConfigIssue,
  type ConfigResult,
  type ExtraOptions,
  type ExtraValues,
  envName,
  loadConfig,
  OPTIONS,
  optionsHelp,
} from './config.ts';
export { redactUrl } from './option-values.ts';
export { resolveUpstreamApis, type UpstreamApi, type UpstreamApiSources } from './upstream-apis.ts';
