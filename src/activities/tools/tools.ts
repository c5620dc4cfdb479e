// The native-tool kit in one import: the one tool runner (single tools, kernel pipes between
// tools), the defaults file that carries credentials, the orphan killer and the version probe.
export { defaultsFileBody, tlsOptions, withDefaultsFile, type ToolOptions } from './defaults-file.ts';
export { isRunning, killOrphanedTool, livePidFromFile } from './orphans.ts';
export { followLines, toolFailure, type LineHandler } from './tool-output.ts';
export {
  endWhenToolsSucceed,
  runTool,
  startPipedTools,
  startTool,
  toolsFailure,
  type PipedStage,
  type StartToolOptions,
  type ToolProcess,
  type ToolRun,
} from './tool-process.ts';
export { toolVersion } from './tool-version.ts';
