// The API process: deps created once, tRPC under /trpc and the REST dispatcher for everything else.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type GrpcRetryOptions } from '@temporalio/client';
import { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { DbferryConfig } from '../config/schema.ts';
import type { DbferryEnv } from '../config/env.ts';
import { MysqlPools } from '../activities/mysql/pools.ts';
import { migrateControlSchema } from '../control/migrations.ts';
import { TokenStore } from '../control/tokens.ts';
import { RunStore } from '../control/runs.ts';
import { UserStore } from '../control/users.ts';
import { PermissionStore } from '../control/permissions.ts';
import { AuditLog } from '../control/audit.ts';
import { applyAccessConfig } from '../control/bootstrap.ts';
import { AccessGuard } from './access/guard.ts';
import { BackupStores } from '../activities/storage/stores.ts';
import type { ApiDeps } from './deps.ts';
import { createServices, type ApiContext } from './context.ts';
import { createRestDispatcher } from './rest/dispatcher.ts';
import { restRoutes } from './routes.ts';
import { appRouter } from './router.ts';
import { ApiError } from './errors.ts';
import { clientKey, RateLimiter, tokenKey } from './limits/rate-limit.ts';
import { ProgressSubscriptions } from './limits/subscriptions.ts';
import { unavailableError } from './limits/unavailable.ts';
import { Datadirs } from '../shared/restore-folder.ts';
import type { AuthenticatedUser } from '../control/tokens.ts';

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

/** Temporal's client retries an unanswered call for about half a second (not 15 s), then the API answers 503. */
const TEMPORAL_ATTEMPTS = 4;

/**
 * The API's Temporal connection. The API starts even while Temporal does not answer (its requests
 * that need Temporal answer 503 and /healthz says so until it does).
 */
async function connectTemporal(address: string): Promise<{ connection: Connection; close(): Promise<void> }> {
  // A call the API has stopped waiting for (a 503 already answered) may still be retrying: once the
  // API closes, no retry is scheduled, and the close waits for those already scheduled, whose timer
  // would otherwise start a call on the closed channel (an uncaught "Channel has been shut down").
  const base = defaultGrpcRetryOptions({ maxAttempts: TEMPORAL_ATTEMPTS });
  let closing = false;
  let lastRetryAt = 0;
  const retry: GrpcRetryOptions = {
    retryableDecider: (attempt, status) => !closing && base.retryableDecider(attempt, status),
    delayFunction: (attempt, status) => {
      const ms = base.delayFunction(attempt, status);
      lastRetryAt = Math.max(lastRetryAt, Date.now() + ms);
      return ms;
    },
  };
  const connection = Connection.lazy({ address, connectTimeout: '5s', interceptors: [makeGrpcRetryInterceptor(retry)] });
  await connection.ensureConnected().catch((error: Error) => {
    console.error(`Temporal at ${address} does not answer (${error.message}); the API starts, and answers 503 where it needs Temporal`);
  });
  return {
    connection,
    async close() {
      closing = true;
      const wait = lastRetryAt + 100 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      await connection.close();
    },
  };
}

/** Starts the HTTP API: tRPC under /trpc, the REST route tables (seed routes under /api, /healthz) beside it. */
export async function startApi(
  config: DbferryConfig,
  env: DbferryEnv,
  listen: { host: string; port: number } = config.api,
): Promise<ApiHandle> {
  const pools = new MysqlPools(config);
  const controlPool = pools.get(config.control.connection);
  await migrateControlSchema(controlPool, config.control.database);
  const { connection, close: closeTemporal } = await connectTemporal(env.TEMPORAL_ADDRESS);
  const temporal = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const db = config.control.database;
  const users = new UserStore(controlPool, db);
  const permissions = new PermissionStore(controlPool, db);
  const audit = new AuditLog(controlPool, db);
  await applyAccessConfig(config.access, users, permissions);
  const deps: ApiDeps = {
    config,
    temporal,
    controlPool,
    tokens: new TokenStore(controlPool, db),
    runs: new RunStore(controlPool, db),
    users,
    permissions,
    audit,
    access: new AccessGuard(permissions, audit),
    stores: new BackupStores(config),
    servers: pools.servers,
    datadirs: new Datadirs(config.connections, (name) => pools.get(name)),
  };
  const services = createServices(deps);
  // Seed 002: the hourly orphan-workspace sweep exists as soon as pulls are configured, not only
  // after the first pull. A failure is not fatal: starting a pull tries again.
  if (Object.keys(config.pulls).length) {
    await services.pulls.ensureCleanupSchedule().catch((e: Error) => console.error(`pull cleanup schedule: ${e.message}`));
  }
  // Issue 12: the grant expiry sweep exists once any grant does (creating the first one makes it too).
  if ((await services.grants.grants.count().catch(() => 0)) > 0) {
    await services.grants.ensureExpirySchedule().catch((e: Error) => console.error(`grant expiry schedule: ${e.message}`));
  }
  // Every request takes one from its caller's bucket: the token's once it is verified, else the client address's.
  const limiter = new RateLimiter(config.api.rateLimit);
  const authenticate = async (req: IncomingMessage): Promise<AuthenticatedUser | null> => {
    const token = bearerToken(req);
    const user = token ? await deps.tokens.verify(token) : null;
    limiter.admit(user && token ? tokenKey(token, user.id) : clientKey(req));
    return user;
  };
  const progress = new ProgressSubscriptions(config.api.subscriptions);
  // tRPC requests are admitted as they arrive (a malformed one counts too); createContext reads the outcome.
  const admissions = new WeakMap<IncomingMessage, Promise<AuthenticatedUser | null>>();

  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: config.api.maxBodyBytes,
    maxBatchSize: config.api.maxBatchSize,
    async createContext({ req }): Promise<ApiContext> {
      try {
        return { ...services, user: await (admissions.get(req) ?? authenticate(req)), progress };
      } catch (error) {
        const refusal = error instanceof ApiError ? error : unavailableError(error);
        if (!refusal) throw error;
        throw new TRPCError({ code: refusal.code, message: refusal.message, cause: refusal });
      }
    },
    // Refusals that pass (429, 503) tell the caller when to come back.
    responseMeta({ errors }) {
      const waits = errors.flatMap((e) =>
        e.cause instanceof ApiError && e.cause.retryAfterSeconds !== undefined ? [e.cause.retryAfterSeconds] : [],
      );
      return waits.length ? { headers: { 'retry-after': String(Math.max(...waits)) } } : {};
    },
    onError({ error, path }) {
      if (error.code === 'INTERNAL_SERVER_ERROR') console.error(`trpc ${path}: ${error.message}`);
      if (error.code === 'SERVICE_UNAVAILABLE' && error.cause instanceof ApiError && error.cause.cause instanceof Error)
        console.error(`trpc ${path}: ${error.cause.cause.message}`);
    },
  });
  const rest = createRestDispatcher(restRoutes, { services, authenticate, admitPublic: (req) => limiter.admit(clientKey(req)) });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').startsWith('/trpc/')) {
      const admission = authenticate(req);
      admission.catch(() => undefined); // answered by createContext, or not at all for a request tRPC refuses first
      admissions.set(req, admission);
      return trpc(req, res);
    }
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
      await closeTemporal();
      deps.stores.close();
      await pools.close();
    },
  };
}
