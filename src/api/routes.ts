// The REST route tables: one per job, plus the health check and the OpenAPI document generated
// from all of them. A new job adds its table here.
import { z } from 'zod';
import { backupRoutes } from './backup/routes.ts';
import { copyRoutes } from './copy/routes.ts';
import { physicalRoutes } from './physical/routes.ts';
import { pullRoutes } from './pull/routes.ts';
import { grantRoutes } from './grants/routes.ts';
import { openApiDocument } from './rest/openapi.ts';
import { restRoute, type AnyRestRoute } from './rest/route.ts';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from './limits/unavailable.ts';

const dependencyState = z.enum(['ok', 'unavailable']);
const healthSchema = z.object({ ok: z.boolean(), temporal: dependencyState, control: dependencyState });

const systemRoutes = [
  restRoute({
    method: 'GET',
    path: '/healthz',
    summary: 'Temporal and the control schema answer (503 with Retry-After naming the one that does not)',
    public: true,
    responses: { 200: { description: 'Healthy', schema: healthSchema }, 503: { description: 'Unhealthy', schema: healthSchema } },
    async handle({ services }) {
      const health = await services.health.check();
      return health.ok
        ? { status: 200, body: health }
        : { status: 503, body: health, headers: { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } };
    },
  }),
  restRoute({
    method: 'GET',
    path: '/api/openapi.json',
    summary: 'This document',
    public: true,
    responses: { 200: { description: 'The OpenAPI 3.1 document of the REST routes' } },
    handle: async () => ({ status: 200, body: restDocument() }),
  }),
];

/** Every REST route, by job. */
export const restTables: Record<string, readonly AnyRestRoute[]> = {
  copy: copyRoutes,
  backup: backupRoutes,
  physical: physicalRoutes,
  pull: pullRoutes,
  grants: grantRoutes,
  system: systemRoutes,
};

// The physical routes come before the backup log's `/api/v1/backups/{id}`, which would also match them.
export const restRoutes: readonly AnyRestRoute[] = [
  ...copyRoutes,
  ...physicalRoutes,
  ...backupRoutes,
  ...pullRoutes,
  ...grantRoutes,
  ...systemRoutes,
];

let document: ReturnType<typeof openApiDocument> | undefined;
/** The OpenAPI document, generated once from the tables. */
export const restDocument = () => (document ??= openApiDocument(restRoutes));
