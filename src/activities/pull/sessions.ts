// How pull activities reach the servers: cancellable SQL sessions and the dump tools, heartbeating throughout.
import type { Pool, PoolConnection } from 'mysql2/promise';
import { Context } from '@temporalio/activity';
import type { ActivityDeps } from '../deps.ts';
import { keepHeartbeating, whileHeartbeating } from '../tools/heartbeat.ts';
import { runTool, withDefaultsFile, type ToolOptions } from '../tools/tools.ts';

/**
 * Runs mydumper or myloader for a pull with the connection's credentials in a 0600 option file,
 * the activity's cancellation, and a heartbeat every second; returns the tool's last lines.
 */
export async function runPullTool(
  deps: Pick<ActivityDeps, 'config' | 'pools'>,
  connection: string,
  tool: { command: 'mydumper' | 'myloader'; args: string[]; pidFile: string },
  options: ToolOptions = {},
): Promise<string[]> {
  const ctx = Context.current();
  return whileHeartbeating(() =>
    withDefaultsFile(
      deps.config.workDir,
      connection,
      deps.pools.connection(connection),
      (cnf) =>
        runTool({
          command: tool.command,
          args: ['--defaults-file', cnf, ...tool.args],
          pidFile: tool.pidFile,
          signal: ctx.cancellationSignal,
        }),
      options,
    ),
  );
}

/** Opens dedicated sessions for one activity; every statement on them is killed if the activity is cancelled. */
export async function withSessions<T>(pool: Pool, fn: (open: () => Promise<PoolConnection>) => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const sessions: PoolConnection[] = [];
  const kill = (): void => {
    for (const s of sessions) void pool.query(`KILL QUERY ${Number(s.threadId)}`).catch(() => undefined);
  };
  ctx.cancellationSignal.addEventListener('abort', kill);
  const beating = keepHeartbeating();
  try {
    return await fn(async () => {
      const session = await pool.getConnection();
      sessions.push(session);
      return session;
    });
  } catch (error) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    throw error;
  } finally {
    beating.stop();
    ctx.cancellationSignal.removeEventListener('abort', kill);
    // Session state (keys, FK checks) must never reach another user of the pool.
    for (const s of sessions) s.destroy();
  }
}

/** Runs `fn` on one dedicated, cancellable session. */
export const onConnection = <T>(pool: Pool, fn: (conn: PoolConnection) => Promise<T>): Promise<T> =>
  withSessions(pool, async (open) => fn(await open()));
