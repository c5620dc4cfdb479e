// Requests that fail because a dependency does not answer (the control schema's MySQL, Temporal):
// a 503 with `Retry-After` and a plain message, never the driver's words or a 500.
import { ApiError } from '../errors.ts';

export type Dependency = 'control' | 'temporal';

/** Seconds a caller is told to wait when a dependency is down. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/** gRPC status codes that mean the server did not answer: UNAVAILABLE, DEADLINE_EXCEEDED. */
const GRPC_DOWN = new Set([14, 4]);
/** MySQL error codes that mean the server cannot take the request (too many connections, shutting down). */
const MYSQL_DOWN = new Set(['ER_CON_COUNT_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_TOO_MANY_USER_CONNECTIONS']);

interface ErrorFacts {
  code?: unknown;
  fatal?: unknown;
  metadata?: unknown;
  sqlState?: unknown;
  cause?: unknown;
}

/** Which dependency `error` (or one of its causes) says is down, or null for any other failure. */
export function failedDependency(error: unknown): Dependency | null {
  let e: unknown = error;
  for (let depth = 0; depth < 6 && e && typeof e === 'object'; depth++) {
    const facts = e as ErrorFacts;
    // A gRPC error (Temporal's client wraps them in ServiceError, the cause chain holds the status).
    if (typeof facts.code === 'number' && facts.metadata !== undefined) return GRPC_DOWN.has(facts.code) ? 'temporal' : null;
    // mysql2 marks connection-level errors `fatal` (refused, lost, closed); SQL errors (a bad statement) are not.
    if (facts.fatal === true) return 'control';
    if (typeof facts.code === 'string' && MYSQL_DOWN.has(facts.code) && facts.sqlState !== undefined) return 'control';
    e = facts.cause;
  }
  return null;
}

const MESSAGES: Record<Dependency, string> = {
  control: 'the control schema (MySQL) does not answer; try again later',
  temporal: 'Temporal does not answer; try again later',
};

/** The 503 for an error that a dependency being down explains, else null. */
export function unavailableError(error: unknown): ApiError | null {
  if (error instanceof ApiError) return null;
  const retry = { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS, cause: error };
  // A configured server that could not be asked who it is: its message names the connection and the driver's code only.
  if (error instanceof Error && error.name === 'ServerUnreachableError')
    return new ApiError('SERVICE_UNAVAILABLE', `${error.message}; try again later`, undefined, retry);
  const down = failedDependency(error);
  return down ? new ApiError('SERVICE_UNAVAILABLE', MESSAGES[down], undefined, retry) : null;
}

/** `error` as the API reports it: a 503 when a dependency is down, else as it is. */
export const asReported = (error: unknown): unknown => unavailableError(error) ?? error;
