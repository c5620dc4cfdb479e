// The API process: deps created once, tRPC under /trpc and the REST dispatcher for everything else.
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
import type { ApiDeps } from './deps.ts';
import { createServices, type ApiContext } from './context.ts';
import { createRestDispatcher } from './rest/dispatcher.ts';
import { restRoutes } from './routes.ts';
import { appRouter } from './router.ts';

export interface ApiHandle {
  url: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** The token from `Authorization: Bearer <token>`, or null. */
function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return match?.[1] ?? null;
}

/** Starts the HTTP API: tRPC under /trpc, the REST route tables (seed routes under /api, /healthz) beside it. */
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
  const services = createServices(deps);
  // Seed 002: the hourly orphan-workspace sweep exists as soon as pulls are configured, not only
  // after the first pull. A failure is not fatal: starting a pull tries again.
  if (Object.keys(config.pulls).length) {
    await services.pulls.ensureCleanupSchedule().catch((e: Error) => console.error(`pull cleanup schedule: ${e.message}`));
  }
  const authenticate = async (req: IncomingMessage) => {
    const token = bearerToken(req);
    return token ? deps.tokens.verify(token) : null;
  };

  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    createContext: async ({ req }): Promise<ApiContext> => ({ ...services, user: await authenticate(req) }),
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`trpc ${path}: ${error.message}`);
    },
  });
  const rest = createRestDispatcher(restRoutes, { services, authenticate });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').startsWith('/trpc/')) return trpc(req, res);
    void rest(req, res);
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
