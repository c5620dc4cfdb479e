// OpenAPI entries of the physical backup routes (seed 004's asynchronous answers), merged into /api/openapi.json.
const accepted = {
  description: 'Accepted: the run is queued (Location: the route that shows it)',
  content: {
    'application/json': {
      schema: {
        type: 'object',
        properties: {
          code: { type: 'integer', enum: [202, 200] },
          status: { type: 'string', enum: ['Accepted'] },
          id: { type: 'string', format: 'uuid' },
          state: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] },
        },
      },
    },
  },
};
const refused = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((c) => [
      String(c),
      {
        description:
          {
            400: 'Invalid input (the message names the field)',
            401: 'No or a wrong bearer token',
            403: 'The destination does not allow writes, or is the control schema',
            404: 'Not found, or not yours',
            409: 'Another physical backup of the server, or a copy or restore into the destination, is running',
            413: 'Body over 64 KiB',
          }[c] ?? 'Error',
      },
    ]),
  );
const idempotencyKey = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 128 } };
const runId = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export const physicalPaths = {
  '/api/v1/backups/physical/{connection}': {
    post: {
      summary:
        'Start a physical backup (mariabackup) of the whole server behind a connection: full, or incremental on the newest piece of its chain',
      parameters: [{ name: 'connection', in: 'path', required: true, schema: { type: 'string' } }, idempotencyKey],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              additionalProperties: false,
              required: ['target'],
              properties: {
                kind: { type: 'string', enum: ['physical-full', 'physical-incremental'], default: 'physical-full' },
                target: { type: 'string' },
                compression: { type: 'string', enum: ['zstd', 'gzip'], default: 'zstd' },
                threads: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
                parent_id: {
                  type: 'string',
                  description: 'incrementals only; default: the newest physical backup of the connection in the target',
                },
                callback_url: { type: ['string', 'null'], format: 'uri' },
              },
            },
          },
        },
      },
      responses: { '202': accepted, ...refused(400, 401, 409, 413) },
    },
    get: {
      summary: 'A physical backup run (state, LSNs, chain and parent), by id (creator only)',
      parameters: [runId],
      responses: { '200': { description: 'The run' }, ...refused(400, 401, 404) },
    },
  },
  '/api/v1/backups/chain-restores': {
    post: {
      summary:
        'Restore a chain of physical backups (up to a backup id, or the newest piece of a connection before a time) into a folder or one database into a connection',
      parameters: [idempotencyKey],
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              type: 'object',
              required: ['chain', 'target', 'to'],
              properties: {
                chain: {
                  oneOf: [
                    { type: 'object', properties: { backupId: { type: 'string' } } },
                    { type: 'object', properties: { connection: { type: 'string' }, before: { type: 'string', format: 'date-time' } } },
                  ],
                },
                target: { type: 'string' },
                to: {
                  oneOf: [
                    { type: 'object', properties: { folder: { type: 'string', description: 'absolute path, absent or empty' } } },
                    {
                      type: 'object',
                      properties: {
                        database: { type: 'string' },
                        destination: { type: 'object', properties: { connection: { type: 'string' }, database: { type: 'string' } } },
                        recreateDestination: { type: 'boolean' },
                      },
                    },
                  ],
                },
                threads: { type: 'integer', minimum: 1, maximum: 64, default: 4 },
                callback_url: { type: ['string', 'null'], format: 'uri' },
              },
            },
          },
        },
      },
      responses: { '202': accepted, ...refused(400, 401, 403, 409, 413) },
    },
  },
  '/api/v1/backups/chain-restores/{id}': {
    get: {
      summary: 'A chain restore (steps, chain, where it went), by id (creator only)',
      parameters: [runId],
      responses: { '200': { description: 'The restore' }, ...refused(400, 401, 404) },
    },
  },
} as const;
