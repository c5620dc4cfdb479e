// Seed 000's REST routes for copies, field for field in the seed's snake_case:
// `POST /api/db-copies` (201 `{id, status:"queued"}`), `GET /api/db-copies`, `GET /api/db-copies/{id}`, cancel.
import { z } from 'zod';
import { copyStatuses } from '../../workflows/copy/contracts.ts';
import { idempotencyHeadersSchema } from '../runs/schemas.ts';
import { restRoute, startedHeaders } from '../rest/route.ts';
import { copyRefSchema, startCopyInputSchema } from './schemas.ts';
import type { CopyView } from './service.ts';

const { callbackUrl, idempotencyKey: _inHeader, ...copyFields } = startCopyInputSchema.shape;
/** Seed 000's request body: the tRPC input's fields, `callback_url` in the seed's spelling. */
const seedStartCopySchema = z.object({ ...copyFields, callback_url: callbackUrl }).strict();

const time = z.string().nullable();
/** Seed 000's copy, plus `phase` and `tables`. */
export const seedCopySchema = z.object({
  id: z.string(),
  status: z.enum(copyStatuses),
  progress: z.number().int().min(0).max(100),
  source_connection: z.string(),
  source_db: z.string(),
  dest_connection: z.string(),
  dest_db: z.string(),
  callback_url: z.string().nullable(),
  started_at: time,
  finished_at: time,
  last_error: z.string().nullable(),
  created_by_user_id: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  phase: z.string(),
  tables: z.array(z.object({ table: z.string(), source_rows: z.number(), destination_rows: z.number() })),
});

export function toSeedCopy(view: CopyView): z.infer<typeof seedCopySchema> {
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

const startedCopySchema = z.object({ id: z.string(), status: z.enum(copyStatuses) });

export const copyRoutes = [
  restRoute({
    method: 'POST',
    path: '/api/db-copies',
    scope: 'copies:write',
    summary: 'Start a database copy',
    headers: idempotencyHeadersSchema,
    body: seedStartCopySchema,
    responses: {
      201: { description: 'Queued', schema: startedCopySchema },
      200: { description: 'Replay of an earlier request with the same Idempotency-Key', schema: startedCopySchema },
    },
    refusals: [403, 409],
    async handle({ user, services, headers, body: { callback_url, ...request } }) {
      const started = await services.copies.start(user, {
        ...request,
        callbackUrl: callback_url ?? null,
        idempotencyKey: headers['Idempotency-Key'],
      });
      return { status: started.created ? 201 : 200, body: { id: started.id, status: started.status }, headers: startedHeaders(started) };
    },
  }),
  restRoute({
    method: 'GET',
    path: '/api/db-copies',
    scope: 'copies:read',
    summary: "List the caller's copies, newest first",
    responses: { 200: { description: 'Copies', schema: z.object({ data: z.array(seedCopySchema) }) } },
    handle: async ({ user, services }) => ({ status: 200, body: { data: (await services.copies.list(user, 50)).map(toSeedCopy) } }),
  }),
  restRoute({
    method: 'GET',
    path: '/api/db-copies/{id}',
    scope: 'copies:read',
    summary: 'Get a copy (creator only)',
    params: copyRefSchema,
    unknownIdsAre: 'copy',
    responses: { 200: { description: 'The copy', schema: seedCopySchema } },
    refusals: [404],
    handle: async ({ user, services, params }) => ({ status: 200, body: toSeedCopy(await services.copies.get(user, params.id)) }),
  }),
  restRoute({
    method: 'POST',
    path: '/api/db-copies/{id}/cancel',
    scope: 'copies:write',
    summary: 'Cancel a copy (creator only): its tools are stopped and what it created is dropped',
    params: copyRefSchema,
    unknownIdsAre: 'copy',
    responses: { 202: { description: 'Cancellation requested', schema: seedCopySchema } },
    refusals: [404],
    handle: async ({ user, services, params }) => ({ status: 202, body: toSeedCopy(await services.copies.cancel(user, params.id)) }),
  }),
];
