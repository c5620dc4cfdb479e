// The OpenAPI document is generated from the route tables: every route is in it, and its request
// bodies and parameters are the zod schemas' own JSON Schema.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiPath } from '../../../src/api/rest/openapi.ts';
import { restDocument, restRoutes, restTables } from '../../../src/api/routes.ts';

type Operation = {
  parameters: Array<{ name: string; in: string; required: boolean; schema: unknown }>;
  requestBody?: { required: boolean; content: { 'application/json': { schema: unknown } } };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
};
const doc = restDocument() as unknown as { openapi: string; paths: Record<string, Record<string, Operation>> };
const jsonSchema = (schema: z.ZodType, io: 'input' | 'output') => {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
};
const all = Object.entries(restTables).flatMap(([table, routes]) => routes.map((route) => ({ table, route })));
const operation = (route: (typeof all)[number]['route']) => doc.paths[openApiPath(route.path)]?.[route.method.toLowerCase()];

describe('the generated OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every route of every table, and nothing else', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(all.length).toBe(restRoutes.length);
    for (const { table, route } of all) expect(operation(route), `${table}: ${route.method} ${route.path}`).toBeDefined();
    const listed = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(listed.sort()).toEqual(all.map(({ route }) => `${route.method} ${openApiPath(route.path)}`).sort());
  });

  it('keeps the seed routes users rely on', () => {
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/db-copies',
        '/api/db-copies/{id}',
        '/api/db-copies/{id}/cancel',
        '/api/v1/backups/trigger/{source}',
        '/api/v1/backups',
        '/api/v1/backups/{id}',
        '/api/v1/backups/{id}/download',
        '/api/v1/backups/physical/{connection}',
        '/api/v1/backups/chain-restores',
        '/api/v1/backups/chain-restores/{id}',
        '/api/v1/pulls',
        '/api/v1/pulls/{id}',
        '/api/v1/pulls/{id}/cancel',
        '/healthz',
      ]),
    );
  });

  it.each(all.filter(({ route }) => route.body))("gives $route.method $route.path the body schema's own JSON Schema", ({ route }) => {
    const body = operation(route)!.requestBody!;
    expect(body.content['application/json'].schema).toEqual(jsonSchema(route.body!, 'input'));
    expect(body.required).toBe(!route.body!.safeParse({}).success);
  });

  it.each(all)('lists the parameters of $route.method $route.path from its schemas', ({ route }) => {
    const parameters = operation(route)!.parameters;
    for (const [where, schema] of [
      ['path', route.params],
      ['query', route.query],
      ['header', route.headers],
    ] as const) {
      const names = Object.keys(schema?.shape ?? {});
      expect(parameters.filter((p) => p.in === where).map((p) => p.name)).toEqual(names);
      for (const name of names) {
        const { description: _d, ...expected } = jsonSchema(schema!.shape[name] as z.ZodType, 'input');
        expect(parameters.find((p) => p.in === where && p.name === name)!.schema).toEqual(expected);
      }
    }
  });

  it.each(all)('answers $route.method $route.path with its response schemas and the one error shape', ({ route }) => {
    const responses = operation(route)!.responses;
    for (const [status, response] of Object.entries(route.responses)) {
      if (response.schema) expect(responses[status]!.content!['application/json']!.schema).toEqual(jsonSchema(response.schema, 'output'));
    }
    if (!route.public) expect(responses['401']!.content!['application/json']!.schema).toMatchObject({ required: ['message', 'field'] });
    if (route.body) expect(responses['400']).toBeDefined();
  });
});
