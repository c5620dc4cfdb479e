// The one interface backups are written and read through, whatever the target is.
import type { Readable } from 'node:stream';
import { InvalidStorageTargetError, parseTargetUrl, type TargetConfig } from '../../config/targets.ts';
import { createFileStore } from './file-store.ts';
import { createS3Store } from './s3-store.ts';

/** How an upload is labelled, cancelled and sized. */
export interface UploadOptions {
  contentType?: string;
  signal?: AbortSignal;
  /** An estimate of the object's size, when known; S3 uses larger parts for very large objects. */
  sizeHint?: number;
}

/** What was stored: the key as given, the byte count and the hex sha256 computed while streaming. */
export interface UploadResult {
  key: string;
  size: number;
  sha256: string;
}

/** One entry of `list`, its key relative to the target. */
export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

/** Objects under one target; every key is relative to the target's prefix or root. */
export interface BackupStore {
  /** The target as a URL, for messages (`s3://bucket/prefix`, `file:///path`). */
  readonly url: string;
  /** Streams `body` to `key`; on any error or abort nothing is left at `key` and no upload stays pending. */
  upload(key: string, body: Readable, options?: UploadOptions): Promise<UploadResult>;
  /** The object's bytes as a stream; a missing key is a permanent error. */
  download(key: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** The object's size, or null when there is no object at `key`. */
  head(key: string): Promise<{ size: number } | null>;
  /** Every object whose key starts with `prefix` ('' for all), fetched page by page. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Deletes the objects; keys that do not exist are not an error. */
  delete(keys: string[]): Promise<void>;
  /** A URL anyone can GET for `expiresSeconds`, or null when the target cannot make one (files). */
  presign(key: string, expiresSeconds: number): Promise<string | null>;
  /** Writes a small JSON document (manifests). */
  putJson(key: string, value: unknown): Promise<void>;
  /** Reads a JSON document written by putJson; parse the result with its schema. */
  getJson(key: string): Promise<unknown>;
  /** Creates the bucket or root directory when missing (tests, first-time setup). */
  ensureBucket(): Promise<void>;
  /**
   * Removes what unfinished uploads to `key` left behind when their process died before it could
   * abort them (pending multipart uploads on S3, partial files on file targets); returns how many.
   * Only for keys nobody is writing to now.
   */
  removeIncompleteUploads(key: string): Promise<number>;
  /** Releases sockets; the store must not be used afterwards. */
  close(): void;
}

/** A storage failure that retrying cannot fix: missing bucket or object, bad credentials, bad target. */
export class PermanentStorageError extends Error {
  override name = 'PermanentStorageError';
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// S3 error codes that mean the request can never succeed as configured. Throttling (SlowDown),
// 5xx, timeouts and network errors are absent: those are worth retrying.
const PERMANENT_S3_CODES = new Set([
  'NoSuchBucket',
  'NoSuchKey',
  'NotFound',
  'AccessDenied',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidBucketName',
  'AuthorizationHeaderMalformed',
  'PermanentRedirect',
  'InvalidArgument',
  'InvalidRequest',
  'KeyTooLongError',
  'EntityTooLarge',
  'InvalidObjectState',
  'MethodNotAllowed',
  'PreconditionFailed',
  'InvalidStorageTargetError',
  'PermanentStorageError',
]);

/** True for failures that retrying cannot fix (looks through `cause`); false for network, 5xx, SlowDown. */
export function isPermanentStorageError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e instanceof PermanentStorageError || e instanceof InvalidStorageTargetError) return true;
    if (PERMANENT_S3_CODES.has(e.name)) return true;
  }
  return false;
}

// Manifests are small; anything bigger is not one, and must not be read into memory whole.
const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** Reads a JSON document of at most 16 MiB from `stream`; `what` names it in errors. */
export async function readJson(stream: Readable, what: string): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BYTES) {
      stream.destroy();
      throw new PermanentStorageError(`${what}: larger than ${MAX_JSON_BYTES} bytes, not a JSON manifest`, 'TooLarge');
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (err) {
    throw new PermanentStorageError(`${what}: not valid JSON`, 'InvalidJson', { cause: err });
  }
}

/** Builds the store for one configured target (one S3 client per target, reused for every call). */
export function createStore(target: TargetConfig, env: NodeJS.ProcessEnv = process.env): BackupStore {
  const location = parseTargetUrl(target.url);
  return location.kind === 'file' ? createFileStore(location.root) : createS3Store(target, location, env);
}
