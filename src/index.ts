/** Public API of dashrelay. */
export {
  createMotionPlugin,
  type MotionPluginOptions,
  meanAbsoluteDifference,
} from './analysis/motion-plugin.ts';
export type {
  AnalysisContext,
  AnalysisEvent,
  AnalysisFrame,
  AnalysisLogger,
  AnalysisPlugin,
  AnalysisReader,
  FrameFormat,
} from './analysis/types.ts';
export type { StreamInfo } from './api/stream-info.ts';
export {
  type CreateServerOptions,
  createServer,
  type DashrelayServer,
} from './app/create-server.ts';
export { defaultAnalyzers } from './app/default-analyzers.ts';
export {
  type Config,
  type ConfigInput,
  defaultConfig,
  type LatencyMode,
  type LatencyProfile,
  latencyProfiles,
  resolveConfig,
} from './config/config.ts';
export { createError, DashrelayError, type ErrorCode, errorCatalogue } from './errors/errors.ts';
