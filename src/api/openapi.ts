// OpenAPI 3.1 description of the REST routes (seed 000's copies, seed 001's backups); tRPC clients use AppRouter instead.
import { physicalPaths } from './physical/openapi.ts';
const copyRef = {
  type: 'object',
  required: ['connection', 'database'],
  additionalProperties: false,
  properties: {
    connection: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
    database: { type: 'string', pattern: '^[A-Za-z0-9_$]{1,64}$' },
  },
};
const status = { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] };
const nullableTime = { type: ['string', 'null'], format: 'date-time' };
const copy = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    status,
    progress: { type: 'integer', minimum: 0, maximum: 100 },
    source_connection: { type: 'string' },
    source_db: { type: 'string' },
    dest_connection: { type: 'string' },
    dest_db: { type: 'string' },
    callback_url: { type: ['string', 'null'] },
    started_at: nullableTime,
    finished_at: nullableTime,
    last_error: { type: ['string', 'null'] },
    created_by_user_id: { type: 'integer' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    phase: { type: 'string' },
    tables: { type: 'array', items: { type: 'object' } },
  },
};
const error = { type: 'object', properties: { message: { type: 'string' }, field: { type: ['string', 'null'] } } };
const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [String(c), { description: String(c), content: { 'application/json': { schema: error } } }]));

const backup = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status,
    source_connection: { type: 'string' },
    source_db: { type: 'string' },
    target: { type: 'string' },
    format: { type: ['string', 'null'], enum: ['mysqldump', 'mydumper', null] },
    compression: { type: ['string', 'null'], enum: ['gzip', 'zstd', null] },
    file_path: { type: ['string', 'null'], description: 'object key inside the target' },
    file_size: { type: ['integer', 'null'] },
    sha256: { type: ['string', 'null'] },
    duration: { type: ['number', 'null'], description: 'seconds' },
    error_message: { type: ['string', 'null'] },
    started_at: nullableTime,
    finished_at: nullableTime,
    trigger: { type: 'string', enum: ['manual', 'schedule'] },
    schedule: { type: ['string', 'null'] },
    available: { type: 'boolean' },
    progress: { type: 'integer' },
    phase: { type: ['string', 'null'] },
    tables: { type: 'array', items: { type: 'object', properties: { table: { type: 'string' }, rows: { type: 'integer' } } } },
  },
};
const backupId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$' } };

const pull = {
  type: 'object',
  properties: {
    id: { type: 'string', format: 'uuid' },
    profile: { type: 'string' },
    status,
    phase: { type: 'string' },
    progress: { type: 'integer' },
    mode: { type: ['string', 'null'], enum: ['full', 'delta', null] },
    full: { type: 'boolean' },
    requested_tables: { type: ['array', 'null'], items: { type: 'string' } },
    source: { type: 'string' },
    destination: { type: 'string' },
    rows: { type: 'integer' },
    tables: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          table: { type: 'string' },
          mode: { type: 'string', enum: ['full', 'delta'] },
          rows: { type: 'integer' },
          sanitized: { type: 'boolean' },
          limited: { type: 'boolean' },
        },
      },
    },
    duration: { type: ['integer', 'null'], description: 'seconds' },
    started_at: nullableTime,
    finished_at: nullableTime,
    last_error: { type: ['string', 'null'] },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: nullableTime,
  },
};
const dryRunRow = {
  type: 'object',
  properties: {
    table: { type: 'string' },
    rows: { type: 'integer' },
    mode: { type: 'string', enum: ['full', 'delta', 'excluded'] },
    sanitized: { type: 'boolean' },
    limited: { type: 'boolean' },
    timestamps: { type: 'boolean' },
    excluded: { type: 'boolean' },
  },
};
const pullId = { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };

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
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['source', 'destination'],
                additionalProperties: false,
                properties: {
                  source: copyRef,
                  destination: copyRef,
                  threads: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
                  recreateDestination: { type: 'boolean', default: false },
                  callback_url: { type: ['string', 'null'], format: 'uri' },
                },
              },
            },
          },
        },
        responses: {
          '201': {
            description: 'Queued',
            content: { 'application/json': { schema: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, status } } } },
          },
          '200': { description: 'Replay of an earlier request with the same Idempotency-Key' },
          ...errors(400, 401, 403, 409, 413),
        },
      },
      get: {
        summary: "List the caller's copies",
        responses: {
          '200': {
            description: 'Copies',
            content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'array', items: copy } } } } },
          },
          ...errors(401),
        },
      },
    },
    '/api/db-copies/{id}': {
      get: {
        summary: 'Get a copy (creator only)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: { '200': { description: 'The copy', content: { 'application/json': { schema: copy } } }, ...errors(401, 404) },
      },
    },
    '/api/db-copies/{id}/cancel': {
      post: {
        summary: 'Cancel a copy (creator only)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: {
          '202': { description: 'Cancellation requested', content: { 'application/json': { schema: copy } } },
          ...errors(401, 404),
        },
      },
    },
    '/api/v1/backups/trigger/{source}': {
      post: {
        summary: 'Start a backup of a database now (seed 001)',
        description:
          "`source` is CONNECTION/DATABASE, as one %2F-encoded path segment (`prod%2Fshop`) or as two segments (`/trigger/prod/shop`). Without `target`, the config file's only target is used.",
        parameters: [
          { name: 'source', in: 'path', required: true, schema: { type: 'string' }, example: 'prod%2Fshop' },
          { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 128 } },
        ],
        requestBody: {
          required: false,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                additionalProperties: false,
                properties: {
                  target: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
                  format: { type: 'string', enum: ['mysqldump', 'mydumper'], default: 'mysqldump' },
                  compression: { type: 'string', enum: ['gzip', 'zstd'], default: 'gzip' },
                  threads: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
                  callback_url: { type: ['string', 'null'], format: 'uri' },
                },
              },
            },
          },
        },
        responses: {
          '202': {
            description: 'Queued (Location: /api/v1/backups/{id})',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: { id: { type: 'string' }, status, source: { type: 'string' }, target: { type: 'string' } },
                },
              },
            },
          },
          '200': { description: 'Replay of an earlier request with the same Idempotency-Key' },
          ...errors(400, 401, 409, 413),
        },
      },
    },
    '/api/v1/backups': {
      get: {
        summary: "The caller's backup log, newest first: backups in the targets plus running, failed and cancelled runs",
        parameters: [
          { name: 'source', in: 'query', schema: { type: 'string' }, description: 'CONNECTION or CONNECTION/DATABASE' },
          { name: 'target', in: 'query', schema: { type: 'string' } },
          { name: 'status', in: 'query', schema: status },
          { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'started at or after' },
          { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'started at or before' },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } },
          { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'next_cursor of the previous page' },
        ],
        responses: {
          '200': {
            description: 'A page',
            content: {
              'application/json': {
                schema: {
                  type: 'object',
                  properties: {
                    data: { type: 'array', items: backup },
                    next_cursor: { type: ['string', 'null'] },
                    problems: {
                      type: 'array',
                      items: {
                        type: 'object',
                        properties: { target: { type: 'string' }, key: { type: ['string', 'null'] }, message: { type: 'string' } },
                      },
                    },
                  },
                },
              },
            },
          },
          ...errors(400, 401),
        },
      },
    },
    '/api/v1/backups/{id}': {
      get: {
        summary: 'One backup (its owner only)',
        parameters: [backupId],
        responses: { '200': { description: 'The backup', content: { 'application/json': { schema: backup } } }, ...errors(400, 401, 404) },
      },
    },
    '/api/v1/backups/{id}/download': {
      get: {
        summary: "The backup's bytes: a redirect to a presigned URL for S3 targets, the file itself for file targets",
        parameters: [backupId],
        responses: {
          '200': {
            description: 'The backup file (Repr-Digest carries its sha256)',
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          '302': { description: 'Location: a presigned URL valid for 15 minutes' },
          ...errors(400, 401, 404, 409),
        },
      },
    },
    ...physicalPaths,
    '/api/v1/pulls': {
      post: {
        summary: 'Start a sanitized pull of a configured profile (seed 002), or with dryRun only show what it would do',
        parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 128 } }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['profile'],
                additionalProperties: false,
                properties: {
                  profile: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' },
                  full: { type: 'boolean', default: false },
                  tables: { type: ['array', 'null'], items: { type: 'string', pattern: '^[A-Za-z0-9_$]{1,64}$' }, minItems: 1 },
                  dryRun: { type: 'boolean', default: false },
                  callback_url: { type: ['string', 'null'], format: 'uri' },
                },
              },
            },
          },
        },
        responses: {
          '202': {
            description: 'Queued (Location: /api/v1/pulls/{id})',
            content: {
              'application/json': {
                schema: { type: 'object', properties: { id: { type: 'string', format: 'uuid' }, status, profile: { type: 'string' } } },
              },
            },
          },
          '200': {
            description: "The dry run's table (`{profile, data: [...]}`), or a replay of an earlier request with the same Idempotency-Key",
            content: {
              'application/json': {
                schema: { type: 'object', properties: { profile: { type: 'string' }, data: { type: 'array', items: dryRunRow } } },
              },
            },
          },
          ...errors(400, 401, 403, 409, 413),
        },
      },
      get: {
        summary: "The caller's pulls, newest first (the seed's backfill:status)",
        parameters: [
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 100, default: 10 } },
          {
            name: 'before',
            in: 'query',
            schema: { type: 'string', format: 'uuid' },
            description: 'id of the last pull of the previous page',
          },
        ],
        responses: {
          '200': {
            description: 'Pulls',
            content: { 'application/json': { schema: { type: 'object', properties: { data: { type: 'array', items: pull } } } } },
          },
          ...errors(400, 401),
        },
      },
    },
    '/api/v1/pulls/{id}': {
      get: {
        summary: 'One pull (its creator only)',
        parameters: [pullId],
        responses: { '200': { description: 'The pull', content: { 'application/json': { schema: pull } } }, ...errors(401, 404) },
      },
    },
    '/api/v1/pulls/{id}/cancel': {
      post: {
        summary: 'Cancel a pull (its creator only); its workspace is dropped',
        parameters: [pullId],
        responses: {
          '202': { description: 'Cancellation requested', content: { 'application/json': { schema: pull } } },
          ...errors(401, 404),
        },
      },
    },
    '/healthz': {
      get: {
        security: [],
        summary: 'Temporal and the control schema answer',
        responses: { '200': { description: 'Healthy' }, '503': { description: 'Unhealthy' } },
      },
    },
  },
} as const;
