// REST routes for pull grants and transfers (admins only, like tRPC `grants.*` and `transfers.*`),
// with the tRPC inputs' camelCase fields: `GET/POST /api/v1/grants`, `GET /api/v1/grants/{name}`, the
// lifecycle as `POST /api/v1/grants/{name}/approve|suspend|reactivate|revoke`, stats and the transfers list.
import { z } from 'zod';
import { GRANT_STATUSES } from '../../control/grant-rules.ts';
import { TRANSFER_STATUSES } from '../../control/transfers.ts';
import { restRoute } from '../rest/route.ts';
import { createGrantInputSchema, grantNameSchema, listGrantsInputSchema, listTransfersInputSchema } from './schemas.ts';

const nameParams = z.object({ name: grantNameSchema }).strict();
const grantSchema = z.looseObject({ id: z.number().int(), name: z.string(), status: z.enum(GRANT_STATUSES), profile: z.string() });
const transferSchema = z.looseObject({ id: z.number().int(), status: z.enum(TRANSFER_STATUSES), table: z.string().nullable() });
const statsSchema = z.looseObject({
  totalTransfers: z.number(),
  completed: z.number(),
  failed: z.number(),
  records: z.number(),
  bytes: z.number(),
});
const reasonBody = z.object({ reason: z.string().trim().min(1, 'give a reason').max(512) }).strict();
const optionalReasonBody = reasonBody.partial().strict();
const listTransfersQuery = listTransfersInputSchema
  .unwrap()
  .extend({ limit: z.coerce.number().int().min(1).max(500).default(100), before: z.coerce.number().int().min(1).optional() })
  .strict();

const lifecycle = (step: 'approve' | 'suspend' | 'reactivate' | 'revoke', needsReason: boolean) =>
  restRoute({
    method: 'POST',
    path: `/api/v1/grants/{name}/${step}`,
    scope: 'grants:write',
    summary: `${step[0]!.toUpperCase()}${step.slice(1)} a pull grant${needsReason ? ' (body: reason)' : ''}, recording who and when`,
    params: nameParams,
    body: needsReason ? reasonBody : optionalReasonBody,
    unknownIdsAre: 'grant',
    responses: { 200: { description: 'The grant after the step', schema: grantSchema } },
    refusals: [403, 404, 409],
    async handle({ user, services, params, body }) {
      return { status: 200, body: await services.grants.transition(user, step, params.name, (body as { reason?: string }).reason) };
    },
  });

export const grantRoutes = [
  restRoute({
    method: 'GET',
    path: '/api/v1/grants',
    scope: 'grants:read',
    summary: 'Pull grants (never a token or a hash)',
    query: listGrantsInputSchema.unwrap(),
    responses: { 200: { description: 'The grants by name', schema: z.array(grantSchema) } },
    refusals: [403],
    handle: async ({ user, services, query }) => ({ status: 200, body: await services.grants.list(user, query) }),
  }),
  restRoute({
    method: 'POST',
    path: '/api/v1/grants',
    scope: 'grants:write',
    summary: 'Create a pending pull grant; the answer holds its token, shown this once',
    body: createGrantInputSchema,
    responses: { 201: { description: 'Created', schema: z.object({ grant: grantSchema, token: z.string() }) } },
    refusals: [403, 409],
    handle: async ({ user, services, body }) => ({ status: 201, body: await services.grants.create(user, body) }),
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/grants/{name}',
    scope: 'grants:read',
    summary: 'One pull grant',
    params: nameParams,
    unknownIdsAre: 'grant',
    responses: { 200: { description: 'The grant', schema: grantSchema } },
    refusals: [403, 404],
    handle: async ({ user, services, params }) => ({ status: 200, body: await services.grants.get(user, params.name) }),
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/grants/{name}/stats',
    scope: 'grants:read',
    summary: "A grant's transfers in total and per table",
    params: nameParams,
    unknownIdsAre: 'grant',
    responses: { 200: { description: 'The stats', schema: statsSchema } },
    refusals: [403, 404],
    handle: async ({ user, services, params }) => ({ status: 200, body: await services.grants.stats(user, params.name) }),
  }),
  lifecycle('approve', false),
  lifecycle('suspend', true),
  lifecycle('reactivate', false),
  lifecycle('revoke', true),
  restRoute({
    method: 'GET',
    path: '/api/v1/transfers',
    scope: 'transfers:read',
    summary: 'Transfers served on grants or received, newest first (filters: grant, status, direction, table, since)',
    query: listTransfersQuery,
    responses: { 200: { description: 'The transfers', schema: z.array(transferSchema) } },
    refusals: [403, 404],
    handle: async ({ user, services, query }) => ({ status: 200, body: await services.grants.listTransfers(user, query) }),
  }),
];
