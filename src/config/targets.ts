// Backup target URLs (s3://, file://) and safe object keys, parsed and validated at the edge.
import { z } from 'zod';

// Target URLs, prefixes and object keys become S3 keys and, for file targets, paths under a root
// directory, so they are held to rules that keep both inside their target: no `.`/`..`/empty
// segments, no backslashes or control characters, bounded length. Nothing is normalised away:
// a suspicious value is refused, naming the field, rather than silently rewritten.
const MAX_BYTES = 512;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// AWS's rules for new buckets, which MinIO, R2 and versitygw also enforce.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Where a target's objects live: a bucket and a key prefix ('' or `a/b`, no slashes at the ends), or a root directory. */
export type TargetLocation = { kind: 's3'; bucket: string; prefix: string } | { kind: 'file'; root: string };

/** Thrown for a key or target that can never work; a permanent failure, never retried. */
export class InvalidStorageTargetError extends Error {
  override name = 'InvalidStorageTargetError';
}

function pathProblem(value: string, { allowTrailingSlash = false } = {}): string | null {
  if (CONTROL.test(value)) return 'must not contain NUL or control characters';
  if (value.includes('\\')) return 'must not contain backslashes';
  if (new TextEncoder().encode(value).length > MAX_BYTES) return `must be at most ${MAX_BYTES} bytes`;
  if (value.startsWith('/')) return 'must not start with /';
  const segments = (allowTrailingSlash && value.endsWith('/') ? value.slice(0, -1) : value).split('/');
  if (segments.includes('..')) return 'must not contain .. segments';
  if (segments.includes('.')) return 'must not contain . segments';
  if (segments.includes('')) return 'must not contain empty segments (//)';
  return null;
}

function bucketProblem(bucket: string): string | null {
  if (!BUCKET.test(bucket))
    return `bucket "${bucket}" must be 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit`;
  if (bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket))
    return `bucket "${bucket}" must not contain ".." or look like an IP address`;
  return null;
}

// Returns the location, or the reason the URL is refused.
function locate(url: string): TargetLocation | string {
  if (CONTROL.test(url)) return 'must not contain NUL or control characters';
  if (url.includes('\\')) return 'must not contain backslashes';
  if (url.length > MAX_BYTES) return `must be at most ${MAX_BYTES} characters`;
  if (/[?#]/.test(url)) return 'must not contain a query (?) or fragment (#)';
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const bad = bucketProblem(bucket);
    if (bad) return bad;
    // `s3://bucket/` and `s3://bucket/a/b/` are fine; `s3://bucket//a` is a prefix that starts with /.
    let prefix = slash === -1 ? '' : rest.slice(slash + 1);
    if (prefix.endsWith('/') && prefix !== '/') prefix = prefix.slice(0, -1);
    const problem = prefix === '' ? null : pathProblem(prefix);
    return problem ? `prefix ${problem}` : { kind: 's3', bucket, prefix };
  }
  if (url.startsWith('file:')) {
    if (!url.startsWith('file:///'))
      return 'a file target must be an absolute path, file:///abs/path (file://host/… and relative paths are refused)';
    let path: string;
    try {
      path = decodeURIComponent(url.slice('file://'.length));
    } catch {
      return 'has invalid percent-encoding';
    }
    if (CONTROL.test(path) || path.includes('\\')) return 'must not encode NUL, control characters or backslashes';
    const relative = path.replace(/^\/+/, '').replace(/\/$/, '');
    if (relative === '') return 'must name a directory, not /';
    if (path.startsWith('//')) return 'path must not contain empty segments (//)';
    const problem = pathProblem(relative);
    return problem ? `path ${problem}` : { kind: 'file', root: `/${relative}` };
  }
  return 'must start with s3://bucket or file:///';
}

/** Parses a target URL, `s3://bucket/prefix` or `file:///abs/path`; throws naming `field` when refused. */
export function parseTargetUrl(url: string, field = 'url'): TargetLocation {
  const location = locate(url);
  if (typeof location === 'string') throw new InvalidStorageTargetError(`${field}: ${location}`);
  return location;
}

/** The name of a backup target in the config file (same alphabet as connection names). */
export const targetName = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, _ and -');

const envName = z.string().regex(ENV_NAME, 'must be an environment variable name');

/** One backup target entry. Credentials are named by environment variable, never written inline. */
export const targetSchema = z
  .object({
    url: z.string().min(1, 'must not be empty'),
    endpoint: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
    region: z
      .string()
      .regex(/^[a-z0-9-]{1,40}$/, 'must be a region name such as us-east-1')
      .optional(),
    accessKeyIdEnv: envName.optional(),
    secretAccessKeyEnv: envName.optional(),
    forcePathStyle: z.boolean().optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const location = locate(t.url);
    if (typeof location === 'string') return ctx.addIssue({ code: 'custom', path: ['url'], message: location });
    if (location.kind === 'file') {
      for (const field of ['endpoint', 'region', 'accessKeyIdEnv', 'secretAccessKeyEnv', 'forcePathStyle'] as const) {
        if (t[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'applies only to s3:// targets' });
      }
    }
    if ((t.accessKeyIdEnv === undefined) !== (t.secretAccessKeyEnv === undefined)) {
      const missing = t.accessKeyIdEnv === undefined ? 'accessKeyIdEnv' : 'secretAccessKeyEnv';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'give accessKeyIdEnv and secretAccessKeyEnv together' });
    }
  });

/** A target entry as validated from the config file. */
export type TargetConfig = z.infer<typeof targetSchema>;

/** A key for an object inside a target, built from user input (backup ids, database names). */
export const backupKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .superRefine((key, ctx) => {
    const problem = pathProblem(key);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Returns `key` when it is a safe object key; otherwise throws naming `field`. */
export function safeKey(key: string, field = 'key'): string {
  const problem = key === '' ? 'must not be empty' : pathProblem(key);
  if (problem)
    throw new InvalidStorageTargetError(`${field}: ${problem} (got ${JSON.stringify(key.slice(0, 60))}${key.length > 60 ? '…' : ''})`);
  return key;
}

/** Returns `prefix` when it may be listed: '' (everything), `a/b` or `a/b/`; otherwise throws naming `field`. */
export function safeListPrefix(prefix: string, field = 'prefix'): string {
  const problem = prefix === '' ? null : pathProblem(prefix, { allowTrailingSlash: true });
  if (problem) throw new InvalidStorageTargetError(`${field}: ${problem}`);
  return prefix;
}
