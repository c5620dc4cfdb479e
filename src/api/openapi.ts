// OpenAPI 3.1 description of the REST routes (seed 000's contract); tRPC clients use AppRouter instead.
const copyRef = { type: 'object', required: ['connection', 'database'], additionalProperties: false, properties: {
  connection: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
  database: { type: 'string', pattern: '^[A-Za-z0-9_$]{1,64}$' },
} };
const status = { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] };
const nullableTime = { type: ['string', 'null'], format: 'date-time' };
const copy = { type: 'object', properties: {
  id: { type: 'string', format: 'uuid' }, status, progress: { type: 'integer', minimum: 0, maximum: 100 },
  source_connection: { type: 'string' }, source_db: { type: 'string' }, dest_connection: { type: 'string' }, dest_db: { type: 'string' },
  callback_url: { type: ['string', 'null'] }, started_at: nullableTime, finished_at: nullableTime, last_error: { type: ['string', 'null'] },
  created_by_user_id: { type: 'integer' }, created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' },
  phase: { type: 'string' }, tables: { type: 'array', items: { type: 'object' } },
} };
const error = { type: 'object', properties: { message: { type: 'string' }, field: { type: ['string', 'null'] } } };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { description: String(c), content: { 'application/json': { schema: error } } }]));

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'dbferry REST API', version: '0.1.0' },
  components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
  security: [{ bearer: [] }],
  paths: {
    '/api/db-copies': {
      post: {
        summary: 'Start a database copy',
        parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 128 } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['source', 'destination'], additionalProperties: false, properties: {
          source: copyRef, destination: copyRef, threads: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
          recreateDestination: { type: 'boolean', default: false }, callback_url: { type: ['string', 'null'], format: 'uri' },
        } } } } },
        responses: {
          '201': { description: 'Queued', content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, status } } } } },
          '200': { description: 'Replay of an earlier request with the same Idempotency-Key' },
          ...errors(400, 401, 403, 409, 413),
        },
      },
      get: { summary: "List the caller's copies", responses: { '200': { description: 'Copies', content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'array', items: copy } } } } } }, ...errors(401) } },
    },
    '/api/db-copies/{id}': {
      get: { summary: 'Get a copy (creator only)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: { '200': { description: 'The copy', content: { 'application/json': { schema: copy } } }, ...errors(401, 404) } },
    },
    '/api/db-copies/{id}/cancel': {
      post: { summary: 'Cancel a copy (creator only)', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: { '202': { description: 'Cancellation requested', content: { 'application/json': { schema: copy } } }, ...errors(401, 404) } },
    },
    '/healthz': { get: { security: [], summary: 'Temporal and the control schema answer', responses: { '200': { description: 'Healthy' }, '503': { description: 'Unhealthy' } } } },
  },
} as const;
