// One REST route as data: method, path, the zod schemas of what it reads and answers, and the
// service call behind it. The dispatcher parses requests with these schemas and OpenAPI is
// generated from them, so a route is written once.
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { ApiServices } from '../context.ts';
import type { Scope } from '../../control/policy.ts';

export type RestMethod = 'GET' | 'POST';

/** What a handler gets: the caller, the services and the parsed request parts. */
export interface RestRequest<P, Q, H, B> {
  user: AuthenticatedUser;
  services: ApiServices;
  params: P;
  query: Q;
  headers: H;
  body: B;
}

/** A JSON answer (`body`), a byte stream (`stream`), or neither (a redirect). */
export interface RestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  stream?: Readable;
}

export interface RestResponse {
  description: string;
  /** The JSON body's schema; absent for a body-less answer. */
  schema?: z.ZodType;
  /** A non-JSON body (`application/octet-stream`). */
  contentType?: string;
}

type Parsed<S> = S extends z.ZodType ? z.output<S> : undefined;

export interface RestRoute<P, Q, H, B> {
  method: RestMethod;
  /** `/api/db-copies/{id}`; `{name+}` takes the rest of the path, slashes included. */
  path: string;
  summary: string;
  description?: string;
  /** Answers without a bearer token (the health check, the OpenAPI document). */
  public?: boolean;
  /** The scope a caller's role and token must allow (every route but the public ones has one). */
  scope?: Scope;
  /** Path parameters, by the names in `path`; each is percent-decoded first. */
  params?: P;
  query?: Q;
  /** Request headers, by their canonical names (`Idempotency-Key`). */
  headers?: H;
  /** The JSON body (an empty body reads as `{}`). */
  body?: B;
  /** A path id failing its schema is answered 404 like an unknown one (seed 000: no such run), naming this noun. */
  unknownIdsAre?: string;
  responses: Record<number, RestResponse>;
  /** Refusals this route makes besides 400 (any input), 401 (unless public) and 413 (with a body). */
  refusals?: number[];
  handle(request: RestRequest<Parsed<P>, Parsed<Q>, Parsed<H>, Parsed<B>>): Promise<RestReply>;
}

/** A route of any shape, as the tables hold them. */
export type AnyRestRoute = Omit<RestRoute<z.ZodObject, z.ZodObject, z.ZodObject, z.ZodType>, 'handle'> & {
  handle(request: RestRequest<unknown, unknown, unknown, unknown>): Promise<RestReply>;
};

/** Declares a route, inferring the handler's parsed types from its schemas. */
export function restRoute<
  P extends z.ZodObject | undefined = undefined,
  Q extends z.ZodObject | undefined = undefined,
  H extends z.ZodObject | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
>(route: RestRoute<P, Q, H, B>): AnyRestRoute {
  return route as unknown as AnyRestRoute;
}

/** Every REST refusal: what went wrong, and the dotted path of the first bad field (null when none). */
export const restErrorSchema = z.object({ message: z.string(), field: z.string().nullable() });

/** A started run's answer headers: where to read it, and whether this was a replay of an earlier key. */
export const startedHeaders = (started: { created: boolean }, location?: string): Record<string, string> => ({
  ...(location ? { location } : {}),
  ...(started.created ? {} : { 'idempotent-replayed': 'true' }),
});
