// Seed 001's REST routes: `POST /api/v1/backups/trigger/{source}` and the backup log
// (`GET /api/v1/backups`, `/{id}`, `/{id}/download`), in snake_case like seed 000's routes.
import { z } from 'zod';
import { databaseRefSchema } from '../copy/schemas.ts';
import { idempotencyHeadersSchema } from '../runs/schemas.ts';
import { restRoute, startedHeaders, type RestReply } from '../rest/route.ts';
import { backupRefSchema, backupStatusSchema, listBackupsFilterSchema, triggerBackupInputSchema } from './schemas.ts';
import { seedBackupSchema, toSeedBackup } from './seed-backup.ts';

/** `{source}`: the CLI's CONNECTION/DATABASE, as one %2F-encoded segment or as two segments. */
const sourcePathSchema = z
  .string()
  .transform((text, ctx) => {
    const slash = text.indexOf('/');
    if (slash !== -1) return { connection: text.slice(0, slash), database: text.slice(slash + 1) };
    const message = `must be CONNECTION/DATABASE (e.g. prod%2Fshop or prod/shop), got ${JSON.stringify(text.slice(0, 64))}`;
    ctx.issues.push({ code: 'custom', message, input: text });
    return z.NEVER;
  })
  .pipe(databaseRefSchema)
  .describe('CONNECTION/DATABASE, as one %2F-encoded segment (prod%2Fshop) or as two (prod/shop)');

const { source: _inPath, target, callbackUrl, idempotencyKey: _inHeader, ...triggerFields } = triggerBackupInputSchema.shape;
/** The trigger's optional body; without a target, the config's only target is used. */
const seedTriggerBodySchema = z.object({ ...triggerFields, target: target.optional(), callback_url: callbackUrl }).strict();

/** The log's filters as a query string: `source=CONN` or `CONN/DB`, the rest as in tRPC. */
const listBackupsQuerySchema = listBackupsFilterSchema
  .extend({
    source: z
      .string()
      .transform((text) => {
        const [connection = '', database] = text.split('/', 2);
        return database === undefined ? { connection } : { connection, database };
      })
      .pipe(listBackupsFilterSchema.shape.source.unwrap())
      .optional()
      .describe('CONNECTION or CONNECTION/DATABASE'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strip();

const triggeredSchema = z.object({ id: z.string(), status: backupStatusSchema, source: z.string(), target: z.string() });

export const backupRoutes = [
  restRoute({
    method: 'POST',
    path: '/api/v1/backups/trigger/{source+}',
    scope: 'backups:write',
    summary: 'Start a backup of a database now (seed 001)',
    params: z.object({ source: sourcePathSchema }),
    headers: idempotencyHeadersSchema,
    body: seedTriggerBodySchema,
    responses: {
      202: { description: 'Queued (Location: /api/v1/backups/{id})', schema: triggeredSchema },
      200: { description: 'Replay of an earlier request with the same Idempotency-Key', schema: triggeredSchema },
    },
    refusals: [409],
    async handle({ user, services, params: { source }, headers, body: { callback_url, ...request } }) {
      const started = await services.backups.trigger(user, {
        ...request,
        source,
        callbackUrl: callback_url ?? null,
        idempotencyKey: headers['Idempotency-Key'],
      });
      return {
        status: started.created ? 202 : 200,
        body: { id: started.id, status: started.status, source: `${source.connection}/${source.database}`, target: started.target },
        headers: startedHeaders(started, `/api/v1/backups/${started.id}`),
      };
    },
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/backups',
    scope: 'backups:read',
    summary: "The caller's backup log, newest first: backups in the targets plus running, failed and cancelled runs",
    query: listBackupsQuerySchema,
    responses: {
      200: {
        description: 'A page',
        schema: z.object({
          data: z.array(seedBackupSchema),
          next_cursor: z.string().nullable(),
          problems: z.array(z.object({ target: z.string(), key: z.string().nullable(), message: z.string() })),
        }),
      },
    },
    async handle({ user, services, query }) {
      const page = await services.backups.list(user, query);
      return { status: 200, body: { data: page.items.map(toSeedBackup), next_cursor: page.nextCursor, problems: page.problems } };
    },
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/backups/{id}',
    scope: 'backups:read',
    summary: 'One backup (its owner only)',
    params: backupRefSchema,
    responses: { 200: { description: 'The backup', schema: seedBackupSchema } },
    refusals: [404],
    handle: async ({ user, services, params }) => ({ status: 200, body: toSeedBackup(await services.backups.get(user, params.id)) }),
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/backups/{id}/download',
    scope: 'backups:read',
    summary: "The backup's bytes: a redirect to a presigned URL for S3 targets, the file itself for file targets",
    params: backupRefSchema,
    responses: {
      200: { description: 'The backup file (Repr-Digest carries its sha256)', contentType: 'application/octet-stream' },
      302: { description: 'Location: a presigned URL valid for 15 minutes' },
    },
    refusals: [404, 409],
    async handle({ user, services, params }): Promise<RestReply> {
      const { view, redirect, body } = await services.backups.open(user, params.id);
      if (redirect) return { status: 302, headers: { location: redirect, 'cache-control': 'no-store' } };
      const filename = view.key
        .split('/')
        .at(-1)!
        .replace(/[^A-Za-z0-9._-]/g, '_');
      return {
        status: 200,
        stream: body!,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(view.size ?? ''),
          'content-disposition': `attachment; filename="${filename}"`,
          'repr-digest': `sha-256=:${Buffer.from(view.sha256 ?? '', 'hex').toString('base64')}:`,
          'cache-control': 'no-store',
        },
      };
    },
  }),
];
