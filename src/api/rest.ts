import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { databaseRefSchema } from './copy/schemas.ts';
import type { AuthenticatedUser } from '../control/tokens.ts';
import type { CopyView } from './copy/service.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './errors.ts';
import { readJsonBody, sendJson } from './http-io.ts';
import { handleBackupRest } from './backup/rest.ts';
import { handlePullRest } from './pull/rest.ts';
import { describeIssues, type ApiServices } from './trpc.ts';

/** Seed 000's request body, field for field (snake_case `callback_url`). */
const restStartCopySchema = z
  .object({
    source: databaseRefSchema,
    destination: databaseRefSchema,
    threads: z.number().int().min(1).max(64).default(4),
    recreateDestination: z.boolean().default(false),
    callback_url: z.string().max(2048, 'must be at most 2048 characters').url('must be an absolute http(s) URL').nullish(),
  })
  .strict();
const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Seed 000's response for GET /api/db-copies/{id}, plus `phase` and `tables`. */
export function toSeedCopy(view: CopyView) {
  return {
    id: view.id,
    status: view.status,
    progress: view.progress,
    source_connection: view.sourceConnection,
    source_db: view.sourceDb,
    dest_connection: view.destConnection,
    dest_db: view.destDb,
    callback_url: view.callbackUrl,
    started_at: view.startedAt,
    finished_at: view.finishedAt,
    last_error: view.lastError,
    created_by_user_id: view.createdByUserId,
    created_at: view.createdAt,
    updated_at: view.updatedAt,
    phase: view.phase,
    tables: view.tables.map((t) => ({ table: t.table, source_rows: t.sourceRows, destination_rows: t.destinationRows })),
  };
}

/** Handles the seeds' REST routes (000: copies, 001: backups); returns false when the path is not one of them. */
export async function handleRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  user: AuthenticatedUser,
  services: ApiServices,
  deps: ApiDeps,
): Promise<boolean> {
  const { copies } = services;
  const path = url.pathname;
  if (path.startsWith('/api/v1/backups')) return handleBackupRest(req, res, url, user, services.backups, deps);
  if (path === '/api/v1/pulls' || path.startsWith('/api/v1/pulls/')) return handlePullRest(req, res, url, user, deps);
  if (path === '/api/db-copies' && req.method === 'POST') {
    const parsed = restStartCopySchema.safeParse(await readJsonBody(req));
    if (!parsed.success) throw new ApiError('BAD_REQUEST', describeIssues(parsed.error.issues));
    const keyHeader = req.headers['idempotency-key'];
    const key = keyHeader === undefined ? undefined : idempotencyKeySchema.safeParse(keyHeader);
    if (key && !key.success) throw new ApiError('BAD_REQUEST', describeIssues(key.error.issues), 'Idempotency-Key');
    const { callback_url, ...rest } = parsed.data;
    const started = await copies.start(user, { ...rest, callbackUrl: callback_url ?? null, idempotencyKey: key?.data });
    sendJson(
      res,
      started.created ? 201 : 200,
      { id: started.id, status: started.status },
      started.created ? {} : { 'idempotent-replayed': 'true' },
    );
    return true;
  }
  if (path === '/api/db-copies' && req.method === 'GET') {
    sendJson(res, 200, { data: (await copies.list(user, 50)).map(toSeedCopy) });
    return true;
  }
  const match = /^\/api\/db-copies\/([^/]+)(\/cancel)?$/.exec(path);
  if (match) {
    const id = decodeURIComponent(match[1]!);
    if (!UUID.test(id)) throw new ApiError('NOT_FOUND', `no copy with id ${id.slice(0, 64)}`);
    if (!match[2] && req.method === 'GET') {
      sendJson(res, 200, toSeedCopy(await copies.get(user, id)));
      return true;
    }
    if (match[2] && req.method === 'POST') {
      sendJson(res, 202, toSeedCopy(await copies.cancel(user, id)));
      return true;
    }
  }
  return false;
}
