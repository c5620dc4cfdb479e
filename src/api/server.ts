import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { DbferryConfig } from '../config/schema.ts';
import type { DbferryEnv } from '../config/env.ts';
import { MysqlPools } from '../activities/mysql/pools.ts';
import { migrateControlSchema } from '../control/migrations.ts';
import { TokenStore } from '../control/tokens.ts';
import { RunStore } from '../control/runs.ts';
import { BackupStores } from '../activities/storage/stores.ts';
import { BackupService } from './backup/service.ts';
import { CopyService } from './copy/service.ts';
import { RestoreService } from './backup/restore-service.ts';
import { ScheduleService } from './backup/schedule-service.ts';
import { pullServiceFor } from './pull/service.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError, httpStatusOf } from './errors.ts';
import { bearerToken, sendJson } from './http-io.ts';
import { openApiDocument } from './openapi.ts';
import { handleRest } from './rest.ts';
import { appRouter } from './router.ts';
import type { ApiContext, ApiServices } from './trpc.ts';

export interface ApiHandle {
  url: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** Answers 200 only when Temporal and the control schema both answer. */
async function health(deps: ApiDeps): Promise<{ ok: boolean; temporal: string; control: string }> {
  const temporal = await deps.temporal.workflowService.getSystemInfo({}).then(
    () => 'ok',
    (e: Error) => `error: ${e.message}`,
  );
  const control = await deps.controlPool.query(`SELECT 1 FROM \`${deps.config.control.database}\`.schema_migrations LIMIT 1`).then(
    () => 'ok',
    (e: Error) => `error: ${e.message}`,
  );
  return { ok: temporal === 'ok' && control === 'ok', temporal, control };
}

/** Starts the HTTP API: tRPC under /trpc, seed 000's REST routes under /api, and /healthz. */
export async function startApi(config: DbferryConfig, env: DbferryEnv, listen = config.api): Promise<ApiHandle> {
  const pools = new MysqlPools(config);
  const controlPool = pools.get(config.control.connection);
  await migrateControlSchema(controlPool, config.control.database);
  const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const deps: ApiDeps = {
    config,
    temporal,
    controlPool,
    tokens: new TokenStore(controlPool, config.control.database),
    runs: new RunStore(controlPool, config.control.database),
    stores: new BackupStores(config),
  };
  const backups = new BackupService(deps);
  const services: ApiServices = {
    copies: new CopyService(deps),
    backups,
    schedules: new ScheduleService(deps),
    restores: new RestoreService(deps, backups),
  };
  // Seed 002: the hourly orphan-workspace sweep exists as soon as pulls are configured, not only
  // after the first pull. A failure is not fatal: starting a pull tries again.
  if (Object.keys(config.pulls).length) {
    await pullServiceFor(deps)
      .ensureCleanupSchedule()
      .catch((e: Error) => console.error(`pull cleanup schedule: ${e.message}`));
  }
  const authenticate = async (req: IncomingMessage) => {
    const token = bearerToken(req);
    return token ? deps.tokens.verify(token) : null;
  };

  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: async ({ req }): Promise<ApiContext> => ({ deps, ...services, user: await authenticate(req) }),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`trpc ${path}: ${error.message}`);
    },
  });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path.startsWith('/trpc/')) return trpc(req, res);
    void (async () => {
      try {
        if (path === '/healthz') {
          const h = await health(deps);
          return sendJson(res, h.ok ? 200 : 503, h);
        }
        if (path === '/api/openapi.json') return sendJson(res, 200, openApiDocument);
        if (!path.startsWith('/api/')) return sendJson(res, 404, { message: 'not found' });
        const user = await authenticate(req);
        if (!user) return sendJson(res, 401, { message: 'Unauthenticated.' }, { 'www-authenticate': 'Bearer' });
        if (!(await handleRest(req, res, url, user, services, deps))) sendJson(res, 404, { message: 'not found' });
      } catch (error) {
        if (error instanceof ApiError)
          return sendJson(res, httpStatusOf[error.code], { message: error.message, field: error.field ?? null });
        console.error(`${req.method} ${path}: ${(error as Error).message}`);
        sendJson(res, 500, { message: 'internal error' });
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    deps,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await connection.close();
      deps.stores.close();
      await pools.close();
    },
  };
}
