// The one REST dispatcher: finds the route for a request, authenticates, parses path, query,
// headers and body with the route's schemas, calls its handler and writes the answer. Every
// refusal is `{message, field}`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { z } from 'zod';
import type { AuthenticatedUser } from '../../control/tokens.ts';
import type { ApiServices } from '../context.ts';
import { refuseScope } from '../../control/policy.ts';
import { ApiError, httpStatusOf, invalidInput } from '../errors.ts';
import { unavailableError } from '../limits/unavailable.ts';
import type { AnyRestRoute, RestReply } from './route.ts';

export const MAX_BODY_BYTES = 64 * 1024;

/** How REST bodies and headers spell the fields the services name in tRPC's words. */
const REST_FIELD_NAMES = { callbackUrl: 'callback_url', parentId: 'parent_id', idempotencyKey: 'Idempotency-Key' };

type Segment = { literal: string } | { param: string; rest: boolean };

interface CompiledRoute {
  route: AnyRestRoute;
  segments: Segment[];
  literals: number;
}

function compile(route: AnyRestRoute): CompiledRoute {
  const segments = route.path
    .split('/')
    .slice(1)
    .map((s): Segment => {
      const param = /^\{(\w+)(\+?)\}$/.exec(s);
      return param ? { param: param[1]!, rest: param[2] === '+' } : { literal: s };
    });
  return { route, segments, literals: segments.filter((s) => 'literal' in s).length };
}

/** The raw (still percent-encoded) path parameters when `parts` matches the route, else null. */
function match({ segments }: CompiledRoute, parts: string[]): Record<string, string> | null {
  const params: Record<string, string> = {};
  for (const [i, segment] of segments.entries()) {
    const part = parts[i];
    if (part === undefined || part === '') return null;
    if ('literal' in segment) {
      if (part !== segment.literal) return null;
    } else if (segment.rest) {
      params[segment.param] = parts.slice(i).join('/');
      return params;
    } else params[segment.param] = part;
  }
  return parts.length === segments.length ? params : null;
}

/** Refusals of the request as REST spells it (its own field names): never renamed, so `callbackUrl` in a body stays `callbackUrl`. */
const inRestWords = new WeakSet<ApiError>();

function parse<S extends z.ZodType | undefined>(schema: S, value: unknown): unknown {
  if (!schema) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const error = invalidInput(parsed.error.issues, parsed.error);
    inRestWords.add(error);
    throw error;
  }
  return parsed.data;
}

function decodeParams(raw: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(raw).map(([name, value]) => {
      try {
        return [name, value.split('/').map(decodeURIComponent).join('/')];
      } catch {
        throw new ApiError('BAD_REQUEST', 'is not valid percent-encoding', name);
      }
    }),
  );
}

/**
 * The query string's parameters, each percent-decoded (`+` is a space); malformed encoding is a 400
 * naming the parameter (URLSearchParams would pass `%ZZ` through and turn bad UTF-8 into U+FFFD).
 */
function decodeQuery(search: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const [rawName, rawValue] = eq === -1 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
    const decode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
    let name: string;
    try {
      name = decode(rawName);
    } catch {
      throw new ApiError('BAD_REQUEST', 'a query parameter name is not valid percent-encoding', '(query)');
    }
    try {
      query[name] = decode(rawValue);
    } catch {
      throw new ApiError('BAD_REQUEST', 'is not valid percent-encoding', name.slice(0, 64));
    }
  }
  return query;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads a JSON object body of at most 64 KiB; anything larger, malformed or not an object is refused. */
async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const tooLarge = () => new ApiError('PAYLOAD_TOO_LARGE', `request body exceeds ${MAX_BODY_BYTES} bytes`);
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks));
  } catch (error) {
    throw new ApiError('BAD_REQUEST', 'the request body is not valid UTF-8', undefined, { cause: error });
  }
  if (!text) return {};
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (error) {
    throw new ApiError('BAD_REQUEST', 'the request body is not valid JSON', undefined, { cause: error });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    const kind = body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`;
    throw new ApiError('BAD_REQUEST', `the request body must be a JSON object, not ${kind}`);
  }
  return body;
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function send(res: ServerResponse, reply: RestReply): Promise<void> {
  if (reply.stream) {
    res.writeHead(reply.status, reply.headers);
    // Headers are out: a failure now can only cut the response short, which the client sees.
    await pipeline(reply.stream, res).catch(() => res.destroy());
  } else if (reply.body === undefined) res.writeHead(reply.status, reply.headers).end();
  else sendJson(res, reply.status, reply.body, reply.headers);
}

const refusal = (res: ServerResponse, error: ApiError, headers: Record<string, string> = {}) => {
  const retry: Record<string, string> = error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) };
  sendJson(res, httpStatusOf[error.code], { message: error.message, field: error.field ?? null }, { ...retry, ...headers });
};

export interface RestDispatcherOptions {
  services: ApiServices;
  /** The caller of a request with a valid bearer token, else null; may refuse it (429 over its rate). */
  authenticate(req: IncomingMessage): Promise<AuthenticatedUser | null>;
  /** Admits a request to a public route (the health check), which is not authenticated: may refuse it (429). */
  admitPublic?(req: IncomingMessage): void;
}

/** A request handler for the route tables; paths outside them answer 404 (405 for a known path and another method). */
export function createRestDispatcher(routes: readonly AnyRestRoute[], { services, authenticate, admitPublic }: RestDispatcherOptions) {
  const compiled = routes.map(compile);
  return async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return refusal(res, new ApiError('BAD_REQUEST', 'the request target is not a valid URL path'));
    }
    const parts = url.pathname.split('/').slice(1);
    const matches = compiled.flatMap((c) => {
      const raw = match(c, parts);
      return raw ? [{ ...c, raw }] : [];
    });
    const chosen = matches.filter((m) => m.route.method === req.method).sort((a, b) => b.literals - a.literals)[0];
    try {
      let user: AuthenticatedUser | null = null;
      if (chosen?.route.public) admitPublic?.(req);
      else {
        if (!matches.length && !url.pathname.startsWith('/api/')) throw new ApiError('NOT_FOUND', 'not found');
        // Everything under /api/ but the public routes answers 401 first, known path or not.
        if (!matches.length || !matches.every((m) => m.route.public)) {
          user = await authenticate(req);
          if (!user) return refusal(res, new ApiError('UNAUTHORIZED', 'Unauthenticated.'), { 'www-authenticate': 'Bearer' });
        }
        if (!matches.length) throw new ApiError('NOT_FOUND', 'not found');
        if (!chosen) {
          const allow = [...new Set(matches.map((m) => m.route.method))].join(', ');
          return refusal(res, new ApiError('METHOD_NOT_SUPPORTED', `${req.method} is not allowed here (allowed: ${allow})`), { allow });
        }
      }
      const { route, raw } = chosen!;
      // The caller's role and the token's scopes, before the request is even parsed.
      const refused = user && route.scope ? refuseScope(user, route.scope) : null;
      if (refused) throw new ApiError('FORBIDDEN', refused);
      const decoded = decodeParams(raw);
      let params: unknown;
      try {
        params = parse(route.params, decoded);
      } catch (error) {
        if (!route.unknownIdsAre) throw error;
        throw new ApiError('NOT_FOUND', `no ${route.unknownIdsAre} with id ${(decoded.id ?? '').slice(0, 64)}`, 'id');
      }
      const query = route.query ? parse(route.query, decodeQuery(url.search)) : undefined;
      const headerNames = Object.keys(route.headers?.shape ?? {});
      const headers = parse(route.headers, Object.fromEntries(headerNames.map((name) => [name, req.headers[name.toLowerCase()]])));
      const body = route.body ? parse(route.body, await readJsonBody(req)) : undefined;
      await send(res, await route.handle({ user: user!, services, params, query, headers, body }));
    } catch (error) {
      if (error instanceof ApiError) return refusal(res, inRestWords.has(error) ? error : error.renamed(REST_FIELD_NAMES));
      console.error(`${req.method} ${url.pathname}: ${(error as Error).message}`);
      // A dependency that does not answer is a 503 with Retry-After, its driver's words only in the log.
      const unavailable = unavailableError(error);
      if (unavailable && !res.headersSent) return refusal(res, unavailable);
      if (!res.headersSent) sendJson(res, 500, { message: 'internal error', field: null });
      else res.destroy();
    }
  };
}
