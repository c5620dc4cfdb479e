// The CLI's dev, worker and api commands: the embedded stack and the long-running processes.
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { loadConfig } from '../config/load.ts';
import { loadEnv } from '../config/env.ts';
import { startWorker } from '../worker.ts';
import { startApi } from '../api/server.ts';
import { startTemporalDevServer } from '../dev/temporal-server.ts';
import { searchAttributeFlags } from '../shared/temporal.ts';
import { parse } from './args.ts';

/** Runs until SIGINT/SIGTERM, then stops the given parts in reverse order. */
async function runUntilSignal(stops: Array<() => Promise<void>>): Promise<void> {
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  for (const stop of stops.reverse()) await stop().catch((e: Error) => console.error(`shutdown: ${e.message}`));
}

export async function workerCommand(): Promise<void> {
  const config = loadConfig();
  const worker = await startWorker(config, loadEnv());
  console.log(`dbferry worker: polling task queue ${config.taskQueue}`);
  await Promise.race([worker.done, runUntilSignal([() => worker.stop()])]);
}

export async function apiCommand(): Promise<void> {
  const api = await startApi(loadConfig(), loadEnv());
  console.log(`dbferry api: listening on ${api.url}`);
  await runUntilSignal([() => api.close()]);
}

/**
 * The embedded stack for development: a Temporal dev server (Web UI, SQLite file kept between runs,
 * dbferry's search attributes), one worker and the API, all in this process.
 */
export async function devCommand(args: string[]): Promise<void> {
  const { values } = parse(args, {
    'temporal-port': { type: 'string', default: '7233' },
    'ui-port': { type: 'string', default: '8233' },
    'db-file': { type: 'string', default: '.dbferry/temporal.sqlite' },
  });
  const config = loadConfig();
  const dbFile = resolve(values['db-file']);
  await mkdir(dirname(dbFile), { recursive: true });
  const temporal = await startTemporalDevServer({
    port: Number(values['temporal-port']),
    uiPort: Number(values['ui-port']),
    dbFile,
    searchAttributes: searchAttributeFlags,
    logFile: resolve(dirname(dbFile), 'temporal.log'),
  });
  process.env.TEMPORAL_ADDRESS = temporal.address;
  const env = loadEnv();
  console.log(`dbferry dev: Temporal at ${temporal.address}, Web UI at ${temporal.uiUrl}`);
  const api = await startApi(config, env);
  const worker = await startWorker(config, env);
  console.log(`dbferry dev: worker polling ${config.taskQueue}`);
  console.log(`dbferry dev: API listening on ${api.url}`);
  // The dev user: an admin, created on first start, with a fresh token each time (shown once, here).
  const dev = await api.deps.tokens.create('dev', { name: 'dbferry dev', ensureUser: 'admin' });
  console.log(`dbferry dev: user "dev" (admin); its token for this session:\n${dev.token}`);
  console.log('dbferry dev: export DBFERRY_TOKEN=<that token>; more users: `npx dbferry user create NAME`; Ctrl-C stops everything');
  await runUntilSignal([() => temporal.stop(), () => worker.stop(), () => api.close()]);
}
