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
  redactUrl,
} from './config.ts';
export { resolveUpstreamApis, type UpstreamApi, type UpstreamApiSources } from './upstream-apis.ts';
