// Seed 004's asynchronous REST answers for physical jobs: `POST /api/v1/backups/physical/{connection}`
// (full or incremental) and `POST /api/v1/backups/chain-restores` answer `202 {"code":202,"status":"Accepted","id"}`;
// `GET /api/v1/backups/physical/{id}` shows the run.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import { backupIdSchema } from '../backup/schemas.ts';
import { startChainRestoreInputSchema, triggerPhysicalBackupInputSchema } from './schemas.ts';
import { ApiError } from '../errors.ts';
import { readJsonBody, sendJson } from '../http-io.ts';
import type { PhysicalService } from './service.ts';
import { describeIssues } from '../trpc.ts';

const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const uuid = z.string().uuid('must be a run id (a UUID)');

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ApiError('BAD_REQUEST', describeIssues(parsed.error.issues));
  return parsed.data;
}

function idempotencyKey(req: IncomingMessage): string | undefined {
  const header = req.headers['idempotency-key'];
  if (header === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(header);
  if (!parsed.success)
    throw new ApiError('BAD_REQUEST', describeIssues(parsed.error.issues.map((i) => ({ ...i, path: ['Idempotency-Key', ...i.path] }))));
  return parsed.data;
}

const accepted = (res: ServerResponse, started: { id: string; status: string; created: boolean }, location: string) =>
  sendJson(
    res,
    started.created ? 202 : 200,
    { code: started.created ? 202 : 200, status: 'Accepted', id: started.id, state: started.status },
    { location, ...(started.created ? {} : { 'idempotent-replayed': 'true' }) },
  );

/** Handles the physical routes; returns false when the path is not one of them. */
export async function handlePhysicalRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  user: AuthenticatedUser,
  physical: PhysicalService,
): Promise<boolean> {
  const path = url.pathname;
  const backup = /^\/api\/v1\/backups\/physical\/([^/]+)$/.exec(path);
  if (backup && req.method === 'POST') {
    const body = (await readJsonBody(req)) as Record<string, unknown>;
    const { parent_id: parentId, callback_url: callbackUrl, ...rest } = body;
    const input = parse(triggerPhysicalBackupInputSchema, {
      kind: 'physical-full',
      ...rest,
      connection: decodeURIComponent(backup[1]!),
      ...(parentId === undefined ? {} : { parentId }),
      ...(callbackUrl === undefined ? {} : { callbackUrl }),
      idempotencyKey: idempotencyKey(req),
    });
    const started = await physical.trigger(user, input);
    accepted(res, started, `/api/v1/backups/physical/${started.id}`);
    return true;
  }
  if (backup && req.method === 'GET') {
    const id = parse(backupIdSchema, decodeURIComponent(backup[1]!));
    sendJson(res, 200, await physical.getBackup(user, id));
    return true;
  }
  if (path === '/api/v1/backups/chain-restores' && req.method === 'POST') {
    const { callback_url: callbackUrl, ...rest } = (await readJsonBody(req)) as Record<string, unknown>;
    const input = parse(startChainRestoreInputSchema, {
      ...rest,
      ...(callbackUrl === undefined ? {} : { callbackUrl }),
      idempotencyKey: idempotencyKey(req),
    });
    const started = await physical.startChain(user, input);
    accepted(res, started, `/api/v1/backups/chain-restores/${started.id}`);
    return true;
  }
  const chain = /^\/api\/v1\/backups\/chain-restores\/([^/]+)$/.exec(path);
  if (chain && req.method === 'GET') {
    const view = await physical.findChain(user, parse(uuid, decodeURIComponent(chain[1]!)));
    if (!view) throw new ApiError('NOT_FOUND', `no chain restore with id ${chain[1]}`, 'id');
    sendJson(res, 200, view);
    return true;
  }
  return false;
}
