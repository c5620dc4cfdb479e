// REST routes for sanitized pulls (seed 002), in snake_case like the other seeds' routes:
// `POST /api/v1/pulls` (start, or `dryRun: true` for the seed's --dry-run table), `GET /api/v1/pulls`
// (the seed's backfill:status), `GET /api/v1/pulls/{id}` and `POST /api/v1/pulls/{id}/cancel`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import { startPullInputSchema } from './schemas.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { readJsonBody, sendJson } from '../http-io.ts';
import { pullServiceFor, type PullView } from './service.ts';

const restStartPullSchema = startPullInputSchema
  .omit({ callbackUrl: true, idempotencyKey: true })
  .extend({
    /** Only plan and count (the seed's --dry-run): nothing is started or written. */
    dryRun: z.boolean().default(false),
    callback_url: startPullInputSchema.shape.callbackUrl,
  })
  .strict();
const idempotencyKeySchema = startPullInputSchema.shape.idempotencyKey.unwrap();
const listQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(10),
    before: z.string().uuid('must be a pull id (a UUID)').optional(),
  })
  .strict();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A 400 naming the first field at fault (`field` in the body), every issue in the message. */
function invalid(issues: z.ZodIssue[], prefix: string[] = []): ApiError {
  const [first, ...rest] = issues;
  const path = (i: z.ZodIssue): string => [...prefix, ...i.path.map(String)].join('.') || '(input)';
  const more = rest.map((i) => `; ${path(i)}: ${i.message}`).join('');
  return new ApiError('BAD_REQUEST', `${first?.message ?? 'invalid request'}${more}`, first ? path(first) : undefined);
}

/** A pull in the REST API's words: the seed's backfill:status columns plus the live state. */
export function toRestPull(v: PullView) {
  return {
    id: v.id,
    profile: v.profile,
    status: v.status,
    phase: v.phase,
    progress: v.progress,
    mode: v.mode,
    full: v.full,
    requested_tables: v.requestedTables,
    source: v.source,
    destination: v.destination,
    rows: v.rows,
    tables: v.tables.map((t) => ({ table: t.table, mode: t.mode, rows: t.rows, sanitized: t.sanitized, limited: t.limited })),
    duration: v.durationSeconds,
    started_at: v.startedAt,
    finished_at: v.finishedAt,
    last_error: v.lastError,
    created_at: v.createdAt,
    updated_at: v.updatedAt,
  };
}

/** Handles the pull routes; returns false when the path is not one of them. */
export async function handlePullRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  user: AuthenticatedUser,
  deps: ApiDeps,
): Promise<boolean> {
  const pulls = pullServiceFor(deps);
  const path = url.pathname;
  if (path === '/api/v1/pulls' && req.method === 'POST') {
    const body = restStartPullSchema.safeParse(await readJsonBody(req));
    if (!body.success) throw invalid(body.error.issues);
    const { dryRun, callback_url: callbackUrl, ...request } = body.data;
    if (dryRun) {
      if (callbackUrl) throw new ApiError('BAD_REQUEST', 'a dry run starts nothing and calls nobody back', 'callback_url');
      sendJson(res, 200, { profile: request.profile, data: await pulls.dryRun(user, request) });
      return true;
    }
    const keyHeader = req.headers['idempotency-key'];
    const key = keyHeader === undefined ? undefined : idempotencyKeySchema.safeParse(keyHeader);
    if (key && !key.success) throw invalid(key.error.issues, ['Idempotency-Key']);
    const started = await pulls.start(user, { ...request, callbackUrl: callbackUrl ?? null, idempotencyKey: key?.data });
    const headers: Record<string, string> = { location: `/api/v1/pulls/${started.id}` };
    if (!started.created) headers['idempotent-replayed'] = 'true';
    sendJson(res, started.created ? 202 : 200, { id: started.id, status: started.status, profile: request.profile }, headers);
    return true;
  }
  if (path === '/api/v1/pulls' && req.method === 'GET') {
    const query = listQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!query.success) throw invalid(query.error.issues);
    sendJson(res, 200, { data: (await pulls.list(user, query.data.limit, query.data.before)).map(toRestPull) });
    return true;
  }
  const match = /^\/api\/v1\/pulls\/([^/]+)(\/cancel)?$/.exec(path);
  if (!match) return false;
  let id: string;
  try {
    id = decodeURIComponent(match[1]!);
  } catch {
    throw new ApiError('BAD_REQUEST', 'is not valid percent-encoding', 'id');
  }
  if (!UUID.test(id)) throw new ApiError('NOT_FOUND', `no pull with id ${id.slice(0, 64)}`);
  if (!match[2] && req.method === 'GET') {
    sendJson(res, 200, toRestPull(await pulls.get(user, id)));
    return true;
  }
  if (match[2] && req.method === 'POST') {
    sendJson(res, 202, toRestPull(await pulls.cancel(user, id)));
    return true;
  }
  return false;
}
