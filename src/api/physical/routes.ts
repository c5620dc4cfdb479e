// Seed 004's asynchronous REST answers for physical jobs: `POST /api/v1/backups/physical/{connection}`
// (full or incremental) and `POST /api/v1/backups/chain-restores` answer `202 {"code":202,"status":"Accepted","id"}`;
// the GET routes show the runs.
import { z } from 'zod';
import { connectionName } from '../../shared/names.ts';
import { backupRefSchema, backupStatusSchema } from '../backup/schemas.ts';
import { idempotencyHeadersSchema } from '../runs/schemas.ts';
import type { StartedRun } from '../runs/run-service.ts';
import { restRoute, startedHeaders, type RestReply } from '../rest/route.ts';
import { chainRestoreRefSchema, physicalBackupFields, startChainRestoreInputSchema, withParentRule } from './schemas.ts';

const { connection: _inPath, kind, parentId, callbackUrl, idempotencyKey: _inHeader, ...backupFields } = physicalBackupFields;
/** The body of a physical backup: a full unless `kind` says otherwise, `parent_id` and `callback_url` in the seeds' spelling. */
const physicalBackupBodySchema = withParentRule(
  z.object({ ...backupFields, kind: kind.default('physical-full'), parent_id: parentId, callback_url: callbackUrl }).strict(),
  'parent_id',
);

const { callbackUrl: chainCallbackUrl, idempotencyKey: _chainKey, ...chainFields } = startChainRestoreInputSchema.shape;
const chainRestoreBodySchema = z.object({ ...chainFields, callback_url: chainCallbackUrl }).strict();

const acceptedSchema = z.object({ code: z.number().int(), status: z.literal('Accepted'), id: z.string(), state: backupStatusSchema });
const accepted = (started: StartedRun, location: string): RestReply => ({
  status: started.created ? 202 : 200,
  body: { code: started.created ? 202 : 200, status: 'Accepted', id: started.id, state: started.status },
  headers: startedHeaders(started, location),
});
const acceptedResponses = {
  202: { description: 'Accepted: the run is queued (Location: the route that shows it)', schema: acceptedSchema },
  200: { description: 'Replay of an earlier request with the same Idempotency-Key', schema: acceptedSchema },
};

/** What the GET routes show: the run's state (camelCase, as tRPC shows it). */
const runStateSchema = z.looseObject({ id: z.string(), status: backupStatusSchema, phase: z.string(), progress: z.number() });

export const physicalRoutes = [
  restRoute({
    method: 'POST',
    path: '/api/v1/backups/physical/{connection}',
    scope: 'backups:write',
    summary:
      'Start a physical backup (mariabackup) of the whole server behind a connection: full, or incremental on the newest piece of its chain',
    params: z.object({ connection: connectionName }),
    headers: idempotencyHeadersSchema,
    body: physicalBackupBodySchema,
    responses: acceptedResponses,
    refusals: [409],
    async handle({ user, services, params, headers, body: { parent_id, callback_url, ...request } }) {
      const started = await services.physical.trigger(user, {
        ...request,
        connection: params.connection,
        parentId: parent_id,
        callbackUrl: callback_url ?? null,
        idempotencyKey: headers['Idempotency-Key'],
      });
      return accepted(started, `/api/v1/backups/physical/${started.id}`);
    },
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/backups/physical/{id}',
    scope: 'backups:read',
    summary: 'A physical backup run (state, LSNs, chain and parent), by id (creator only)',
    params: backupRefSchema,
    responses: { 200: { description: 'The run', schema: runStateSchema } },
    refusals: [404],
    handle: async ({ user, services, params }) => ({ status: 200, body: await services.physical.getBackup(user, params.id) }),
  }),
  restRoute({
    method: 'POST',
    path: '/api/v1/backups/chain-restores',
    scope: 'restores:write',
    summary:
      'Restore a chain of physical backups (up to a backup id, or the newest piece of a connection before a time) into a folder or one database into a connection',
    headers: idempotencyHeadersSchema,
    body: chainRestoreBodySchema,
    responses: acceptedResponses,
    refusals: [403, 409],
    async handle({ user, services, headers, body: { callback_url, ...request } }) {
      const started = await services.physical.startChain(user, {
        ...request,
        callbackUrl: callback_url ?? null,
        idempotencyKey: headers['Idempotency-Key'],
      });
      return accepted(started, `/api/v1/backups/chain-restores/${started.id}`);
    },
  }),
  restRoute({
    method: 'GET',
    path: '/api/v1/backups/chain-restores/{id}',
    scope: 'restores:read',
    summary: 'A chain restore (steps, chain, where it went), by id (creator only)',
    params: chainRestoreRefSchema,
    responses: { 200: { description: 'The restore', schema: runStateSchema } },
    refusals: [404],
    handle: async ({ user, services, params }) => ({ status: 200, body: await services.physical.getChain(user, params.id) }),
  }),
];
