// The OpenAPI 3.1 document of the REST routes, generated from the route tables with zod's
// JSON Schema output, so it cannot drift from what the dispatcher accepts. tRPC clients use AppRouter.
import { z } from 'zod';
import type { AnyRestRoute } from './route.ts';
import { restErrorSchema } from './route.ts';

type JsonSchema = Record<string, unknown>;

/** A zod schema as JSON Schema (draft 2020-12, which OpenAPI 3.1 uses); requests as sent, answers as sent back. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  return rest;
}

const REFUSALS: Record<number, string> = {
  400: 'Invalid input: the message names every bad field, `field` the first',
  401: 'No bearer token, or a wrong one',
  403: 'The destination does not allow writes, or is the control schema',
  404: 'Not found, or not yours',
  409: 'Another run holds the lock',
  413: 'Body over 64 KiB',
  422: 'The Idempotency-Key was used for another request',
  429: 'Too many requests (the rate limit, or a run cap): Retry-After says when to come back',
  503: 'The control schema or Temporal does not answer: Retry-After says when to try again',
};

/** One OpenAPI parameter per property of an object schema. */
function parametersOf(schema: z.ZodObject | undefined, where: 'path' | 'query' | 'header'): JsonSchema[] {
  if (!schema) return [];
  const object = jsonSchemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(object.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property;
    return {
      name,
      in: where,
      required: where === 'path' || (object.required ?? []).includes(name),
      schema: rest,
      ...(description ? { description } : {}),
    };
  });
}

function operationOf(route: AnyRestRoute): JsonSchema {
  const hasInput = Boolean(route.params || route.query || route.headers || route.body);
  const refusals = new Set([...(hasInput ? [400] : []), ...(route.public ? [] : [401]), ...(route.refusals ?? [])]);
  if (route.body) refusals.add(413);
  if (route.headers && 'Idempotency-Key' in route.headers.shape) refusals.add(422);
  // Every authenticated route is rate-limited and needs the control schema.
  if (!route.public) [429, 503].forEach((status) => refusals.add(status));
  const responses: JsonSchema = {};
  for (const [status, response] of Object.entries(route.responses)) {
    const content = response.contentType
      ? { [response.contentType]: { schema: { type: 'string', format: 'binary' } } }
      : response.schema
        ? { 'application/json': { schema: jsonSchemaOf(response.schema, 'output') } }
        : undefined;
    responses[status] = { description: response.description, ...(content ? { content } : {}) };
  }
  for (const status of [...refusals].sort()) {
    responses[String(status)] = {
      description: REFUSALS[status] ?? String(status),
      content: { 'application/json': { schema: jsonSchemaOf(restErrorSchema, 'output') } },
    };
  }
  return {
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    ...(route.public ? { security: [] } : {}),
    parameters: [...parametersOf(route.params, 'path'), ...parametersOf(route.query, 'query'), ...parametersOf(route.headers, 'header')],
    ...(route.body
      ? {
          requestBody: {
            // An empty body reads as `{}`: the body is optional exactly when `{}` is a valid one.
            required: !route.body.safeParse({}).success,
            content: { 'application/json': { schema: jsonSchemaOf(route.body, 'input') } },
          },
        }
      : {}),
    responses,
  };
}

/** `{name+}` (the rest of the path) is an ordinary `{name}` in OpenAPI. */
export const openApiPath = (path: string): string => path.replace(/\{(\w+)\+\}/g, '{$1}');

/** The document for these routes, paths in table order. */
export function openApiDocument(routes: readonly AnyRestRoute[]) {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) (paths[openApiPath(route.path)] ??= {})[route.method.toLowerCase()] = operationOf(route);
  return {
    openapi: '3.1.0',
    info: { title: 'dbferry REST API', version: '0.1.0' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
