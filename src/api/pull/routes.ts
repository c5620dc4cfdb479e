// REST routes for sanitized pulls (seed 002), in snake_case like the other seeds' routes:
// `POST /api/v1/pulls` (start, or `dryRun: true` for the seed's --dry-run table), `GET /api/v1/pulls`
// (the seed's backfill:status), `GET /api/v1/pulls/{id}` and `POST /api/v1/pulls/{id}/cancel`.
import { z } from 'zod';
import { copyStatuses } from '../../workflows/copy/contracts.ts';
import { ApiError } from '../errors.ts';
import { idempotencyHeadersSchema } from '../runs/schemas.ts';
import { restRoute, startedHeaders } from '../rest/route.ts';
import { listPullsInputSchema, pullRefSchema, startPullInputSchema } from './schemas.ts';
import type { PullView } from './service.ts';

const { callbackUrl, idempotencyKey: _inHeader, ...pullFields } = startPullInputSchema.shape;
const restStartPullSchema = z
  .object({
    ...pullFields,
    /** Only plan and count (the seed's --dry-run): nothing is started or written. */
    dryRun: z.boolean().default(false),
    callback_url: callbackUrl,
  })
  .strict();
const listPullsQuerySchema = listPullsInputSchema.extend({ limit: z.coerce.number().int().min(1).max(100).default(10) }).strict();

const time = z.string().nullable();
const restPullSchema = z.object({
  id: z.string(),
  profile: z.string(),
  status: z.enum(copyStatuses),
  phase: z.string(),
  progress: z.number().int(),
  mode: z.enum(['full', 'delta']).nullable(),
  full: z.boolean(),
  requested_tables: z.array(z.string()).nullable(),
  source: z.string(),
  destination: z.string(),
  rows: z.number().int(),
  tables: z.array(
    z.object({ table: z.string(), mode: z.enum(['full', 'delta']), rows: z.number().int(), sanitized: z.boolean(), limited: z.boolean() }),
  ),
  duration: z.number().int().nullable().describe('seconds'),
  started_at: time,
  finished_at: time,
  last_error: z.string().nullable(),
  created_at: z.string(),
  updated_at: time,
});

/** A pull in the REST API's words: the seed's backfill:status columns plus the live state. */
export function toRestPull(v: PullView): z.infer<typeof restPullSchema> {
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

const startedPullSchema = z.object({ id: z.string(), status: z.enum(copyStatuses), profile: z.string() });
const dryRunSchema = z.object({
  profile: z.string(),
  data: z.array(
    z.object({
      table: z.string(),
      rows: z.number().int(),
      mode: z.enum(['full', 'delta', 'excluded']),
      sanitized: z.boolean(),
      limited: z.boolean(),
      timestamps: z.boolean(),
      excluded: z.boolean(),
    }),
  ),
});

export const pullRoutes = [
  restRoute({
    method: 'POST',
    path: '/api/v1/pulls',
    scope: 'pulls:write',
    summary: 'Start a sanitized pull of a configured profile (seed 002), or with dryRun only show what it would do',
    headers: idempotencyHeadersSchema,
    body: restStartPullSchema,
    responses: {
      202: { description: 'Queued (Location: /api/v1/pulls/{id})', schema: startedPullSchema },
      200: {
        description: "The dry run's table, or a replay of an earlier request with the same Idempotency-Key",
        schema: z.union([dryRunSchema, startedPullSchema]),
      },
    },
    refusals: [403, 409],
    async handle({ user, services, headers, body: { dryRun, callback_url, ...request } }) {
      if (dryRun) {
        if (callback_url) throw new ApiError('BAD_REQUEST', 'a dry run starts nothing and calls nobody back', 'callback_url');
        return { status: 200, body: { profile: request.profile, data: await services.pulls.dryRun(user, request) } };
      }
      const started = await services.pulls.start(user, {
        ...request,
        callbackUrl: callback_url ?? null,
        idempotencyKey: headers['Idempotency-Key'],
      });
      return {
        status: started.created ? 202 : 200,
        body: { id: started.id, status: started.status, profile: request.profile },
        headers: startedHeaders(started, `/api/v1/pulls/${started.id}`),
      };
    },
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/pulls',
    scope: 'pulls:read',
    summary: "The caller's pulls, newest first (the seed's backfill:status)",
    query: listPullsQuerySchema,
    responses: { 200: { description: 'Pulls', schema: z.object({ data: z.array(restPullSchema) }) } },
    async handle({ user, services, query }) {
      return { status: 200, body: { data: (await services.pulls.list(user, query.limit, query.before)).map(toRestPull) } };
    },
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/pulls/{id}',
    scope: 'pulls:read',
    summary: 'One pull (its creator only)',
    params: pullRefSchema,
    unknownIdsAre: 'pull',
    responses: { 200: { description: 'The pull', schema: restPullSchema } },
    refusals: [404],
    handle: async ({ user, services, params }) => ({ status: 200, body: toRestPull(await services.pulls.get(user, params.id)) }),
  }),
  restRoute({
    method: 'POST',
    path: '/api/v1/pulls/{id}/cancel',
    scope: 'pulls:write',
    summary: 'Cancel a pull (its creator only); its workspace is dropped',
    params: pullRefSchema,
    unknownIdsAre: 'pull',
    responses: { 202: { description: 'Cancellation requested', schema: restPullSchema } },
    refusals: [404],
    handle: async ({ user, services, params }) => ({ status: 202, body: toRestPull(await services.pulls.cancel(user, params.id)) }),
  }),
];
