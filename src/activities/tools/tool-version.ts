// The one version probe: a tool's `--version` line, asked once per command for the worker's life
// (the binary does not change under a running worker), and a missing tool named as such.
import { ApplicationFailure } from '@temporalio/activity';
import { startTool } from './tool-process.ts';

const PROBE_TIMEOUT_MS = 30_000;
const probed = new Map<string, Promise<string>>();

/**
 * The first line `command --version` prints, e.g. `mysqldump  Ver 10.19 Distrib 10.11.19-MariaDB, …`.
 * A tool that is not there is a non-retryable ToolMissing saying to install `install`; that answer
 * is not remembered, so a tool installed meanwhile is found by the next call.
 */
export function toolVersion(command: string, install = command): Promise<string> {
  let version = probed.get(command);
  if (!version) {
    version = probe(command, install);
    probed.set(command, version);
    version.catch(() => probed.delete(command));
  }
  return version;
}

async function probe(command: string, install: string): Promise<string> {
  const tool = startTool(command, ['--version'], { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS), stdout: 'lines' });
  // Some tools exit non-zero for --version and still say who they are: only silence means missing.
  await tool.done.catch(() => undefined);
  if (tool.tail.length === 0 && tool.failure !== undefined) {
    throw ApplicationFailure.nonRetryable(`${command} is not installed on this worker (install ${install})`, 'ToolMissing');
  }
  return tool.tail[0]?.replace(/\s+/g, ' ').trim() || 'unknown';
}
