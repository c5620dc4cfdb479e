// The API's refusals: one error type the services throw, mapped to tRPC codes and to REST statuses.

type Code =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'METHOD_NOT_SUPPORTED'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNPROCESSABLE_CONTENT'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE';

/** A refusal the API reports to the caller as-is: status code, message and the field it concerns. */
export class ApiError extends Error {
  override name = 'ApiError';
  /** Seconds the caller should wait before asking again (REST's `Retry-After`), for refusals that pass. */
  readonly retryAfterSeconds?: number;
  /**
   * `message` is prefixed with `field: ` unless `named` says it already names its fields
   * (a list of validation issues, `a.b: …; c: …`).
   */
  constructor(
    readonly code: Code,
    message: string,
    readonly field?: string,
    options: { named?: boolean; cause?: unknown; retryAfterSeconds?: number } = {},
  ) {
    super(field && !options.named ? `${field}: ${message}` : message, { cause: options.cause });
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** The same refusal for a caller that spells the field differently (`callbackUrl` is `callback_url` over REST). */
  renamed(names: Readonly<Record<string, string>>): ApiError {
    const [head = '', ...rest] = this.field?.split('.') ?? [];
    const name = Object.hasOwn(names, head) ? names[head] : undefined;
    if (!this.field || !name) return this;
    const field = [name, ...rest].join('.');
    const message = this.message.startsWith(`${this.field}: `) ? `${field}: ${this.message.slice(this.field.length + 2)}` : this.message;
    return new ApiError(this.code, message, field, { named: true, cause: this, retryAfterSeconds: this.retryAfterSeconds });
  }
}

export const httpStatusOf: Record<ApiError['code'], number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_SUPPORTED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE_CONTENT: 422,
  TOO_MANY_REQUESTS: 429,
  SERVICE_UNAVAILABLE: 503,
};

/** One validation problem, as zod and Standard Schema report it (zod's unknown fields: `unrecognized_keys` and their `keys`). */
export interface ValidationIssue {
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  message: string;
  code?: string;
  keys?: ReadonlyArray<string>;
}

const dotted = (path: ReadonlyArray<PropertyKey | { key: PropertyKey }>): string =>
  path.map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');

/** One issue per field: an object's unknown fields each become their own issue, at their own path. */
function perField(issue: ValidationIssue): ValidationIssue[] {
  if (issue.code !== 'unrecognized_keys' || !issue.keys?.length) return [issue];
  return issue.keys.map((key) => ({ path: [...(issue.path ?? []), key], message: 'is not a known field' }));
}

/** The dotted path of an issue (`tables.0`, or an unknown field's own path), or '' for the input as a whole. */
export const pathOf = (issue: ValidationIssue): string => dotted(perField(issue)[0]!.path ?? []);

/** `field.path: message; …` for input validation errors, so every 400 names the bad field (unknown fields too). */
export function describeIssues(issues: ReadonlyArray<ValidationIssue>): string {
  return issues
    .flatMap(perField)
    .map((i) => `${pathOf(i) || '(input)'}: ${i.message}`)
    .join('; ');
}

/** A 400 listing every issue, its field the first issue's path (none when the input as a whole is wrong). */
export function invalidInput(issues: ReadonlyArray<ValidationIssue>, cause?: unknown): ApiError {
  return new ApiError('BAD_REQUEST', describeIssues(issues), issues[0] ? pathOf(issues[0]) || undefined : undefined, {
    named: true,
    cause,
  });
}
