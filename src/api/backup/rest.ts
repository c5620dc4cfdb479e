// Seed 001's REST routes: `POST /api/v1/backups/trigger/{source}` and the backup log
// (`GET /api/v1/backups`, `/{id}`, `/{id}/download`), in snake_case like seed 000's routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import { backupCompressionSchema, backupFormatSchema, backupIdSchema, listBackupsInputSchema } from './schemas.ts';
import { databaseRefSchema } from '../copy/schemas.ts';
import { targetName } from '../../config/targets.ts';
import type { BackupService, BackupView } from './service.ts';
import type { ApiDeps } from '../deps.ts';
import { ApiError } from '../errors.ts';
import { readJsonBody, sendJson } from '../http-io.ts';
import { handlePhysicalRest } from '../physical/rest.ts';
import { describeIssues } from '../trpc.ts';

/** The optional body of the trigger route; without a target, the config's only target is used. */
const triggerBodySchema = z
  .object({
    target: targetName.optional(),
    format: backupFormatSchema.default('mysqldump'),
    compression: backupCompressionSchema.default('gzip'),
    threads: z.number().int().min(1).max(64).default(4),
    callback_url: z.string().max(2048, 'must be at most 2048 characters').url('must be an absolute http(s) URL').nullish(),
  })
  .strict();
const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** A backup log entry in seed 001's words (`file_path`, `file_size`, `duration` in seconds, `error_message`). */
export function toSeedBackup(v: BackupView) {
  return {
    id: v.id,
    status: v.status,
    source_connection: v.source.connection,
    source_db: v.source.database,
    target: v.target,
    format: v.format,
    compression: v.compression,
    file_path: v.key,
    file_size: v.size,
    sha256: v.sha256,
    duration: v.durationMs === null ? null : Math.round(v.durationMs / 100) / 10,
    error_message: v.error,
    started_at: v.startedAt,
    finished_at: v.finishedAt,
    trigger: v.trigger,
    schedule: v.schedule,
    available: v.available,
    progress: v.progress,
    phase: v.phase,
    ...(v.tables ? { tables: v.tables } : {}),
  };
}

type Issues = Parameters<typeof describeIssues>[0];
/** A 400 naming the fields at fault; `field` prefixes issues about a value parsed on its own (a header, a path segment). */
const bad = (issues: Issues, field?: string) =>
  new ApiError('BAD_REQUEST', describeIssues(field ? issues.map((i) => ({ ...i, path: [field, ...(i.path ?? [])] })) : issues));

/** `{source}` is the CLI's CONNECTION/DATABASE, sent as one %2F-encoded segment or as two segments. */
function parseSource(raw: string) {
  let text: string;
  try {
    text = decodeURIComponent(raw);
  } catch {
    throw new ApiError('BAD_REQUEST', 'is not valid percent-encoding', 'source');
  }
  const slash = text.indexOf('/');
  if (slash === -1)
    throw new ApiError(
      'BAD_REQUEST',
      `must be CONNECTION/DATABASE (e.g. prod%2Fshop or prod/shop), got ${JSON.stringify(text.slice(0, 64))}`,
      'source',
    );
  const parsed = databaseRefSchema.safeParse({ connection: text.slice(0, slash), database: text.slice(slash + 1) });
  if (!parsed.success) throw bad(parsed.error.issues.map((i) => ({ ...i, path: ['source', ...i.path] })));
  return parsed.data;
}

/** Query-string filters of `GET /api/v1/backups`: source=CONN or CONN/DB, target, status, from, to, limit, cursor. */
function parseListQuery(url: URL) {
  const q = (name: string) => url.searchParams.get(name) ?? undefined;
  const source = q('source');
  const [connection, database] = source === undefined ? [] : source.split('/', 2);
  const limit = q('limit');
  const parsed = listBackupsInputSchema.safeParse({
    source: source === undefined ? undefined : { connection, database },
    target: q('target'),
    status: q('status'),
    from: q('from'),
    to: q('to'),
    cursor: q('cursor'),
    limit: limit === undefined ? undefined : Number(limit),
  });
  if (!parsed.success) throw bad(parsed.error.issues);
  return parsed.data;
}

/** Handles the backup routes; returns false when the path is not one of them. */
export async function handleBackupRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  user: AuthenticatedUser,
  backups: BackupService,
  deps: ApiDeps,
): Promise<boolean> {
  const path = url.pathname;
  if (await handlePhysicalRest(req, res, url, user, backups.physical)) return true;
  const trigger = /^\/api\/v1\/backups\/trigger\/(.+)$/.exec(path);
  if (trigger && req.method === 'POST') {
    const source = parseSource(trigger[1]!);
    const body = triggerBodySchema.safeParse(await readJsonBody(req));
    if (!body.success) throw bad(body.error.issues);
    const keyHeader = req.headers['idempotency-key'];
    const key = keyHeader === undefined ? undefined : idempotencyKeySchema.safeParse(keyHeader);
    if (key && !key.success) throw bad(key.error.issues, 'Idempotency-Key');
    const targets = Object.keys(deps.config.targets);
    const target = body.data.target ?? (targets.length === 1 ? targets[0]! : undefined);
    if (!target)
      throw new ApiError(
        'BAD_REQUEST',
        `is required when the config declares ${targets.length ? `several targets (${targets.join(', ')})` : 'no targets'}`,
        'target',
      );
    const { callback_url, ...rest } = body.data;
    const started = await backups.trigger(
      user,
      { ...rest, source, target, callbackUrl: callback_url ?? null, idempotencyKey: key?.data },
      'callback_url',
    );
    const headers: Record<string, string> = { location: `/api/v1/backups/${started.id}` };
    if (!started.created) headers['idempotent-replayed'] = 'true';
    sendJson(
      res,
      started.created ? 202 : 200,
      { id: started.id, status: started.status, source: `${source.connection}/${source.database}`, target },
      headers,
    );
    return true;
  }
  if (path === '/api/v1/backups' && req.method === 'GET') {
    const page = await backups.list(user, parseListQuery(url));
    sendJson(res, 200, { data: page.items.map(toSeedBackup), next_cursor: page.nextCursor, problems: page.problems });
    return true;
  }
  const match = /^\/api\/v1\/backups\/([^/]+)(\/download)?$/.exec(path);
  if (!match || req.method !== 'GET') return false;
  const id = backupIdSchema.safeParse(decodeURIComponent(match[1]!));
  if (!id.success) throw bad(id.error.issues, 'id');
  if (!match[2]) {
    sendJson(res, 200, toSeedBackup(await backups.get(user, id.data)));
    return true;
  }
  const { view, redirect, body } = await backups.open(user, id.data);
  if (redirect) {
    res.writeHead(302, { location: redirect, 'cache-control': 'no-store' }).end();
    return true;
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(view.size ?? ''),
    'content-disposition': `attachment; filename="${view.key
      .split('/')
      .at(-1)!
      .replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    'repr-digest': `sha-256=:${Buffer.from(view.sha256 ?? '', 'hex').toString('base64')}:`,
    'cache-control': 'no-store',
  });
  // Headers are out: a failure now can only cut the response short, which the client sees.
  await pipeline(body!, res).catch(() => res.destroy());
  return true;
}
