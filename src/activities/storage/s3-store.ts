// BackupStore on S3 or any S3-compatible server (MinIO, R2, versitygw), with one client per target.
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BuildMiddleware, MetadataBearer } from '@smithy/types';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  isPermanentStorageError,
  PermanentStorageError,
  readJson,
  type BackupStore,
  type UploadOptions,
  type UploadResult,
} from './store.ts';
import { safeKey, safeListPrefix, type TargetConfig, type TargetLocation } from '../../config/targets.ts';

// Live buffers per upload stay near (QUEUE_SIZE + 3) × part size whatever the object size (parts in
// flight, the next one filling, lib-storage's copy when it joins chunks into a part): about 45 MiB
// measured. Two uploaders keep reading the source while a part is sent. 8 MiB parts cap an object at 78 GiB (10,000 parts);
// `sizeHint` raises the part size for larger objects, keeping a 2× margin for a poor estimate.
const MiB = 1024 * 1024;
const MIN_PART_SIZE = 8 * MiB;
const MAX_PART_SIZE = 512 * MiB;
const MAX_PARTS = 10_000;
const QUEUE_SIZE = 2;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

type S3Location = Extract<TargetLocation, { kind: 's3' }>;

/** The S3 client for a target: its own endpoint, region and credentials, else the standard AWS environment. */
export function createS3Client(target: TargetConfig, env: NodeJS.ProcessEnv): S3Client {
  const endpoint = target.endpoint ?? (env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined);
  if (endpoint !== undefined && !/^https?:\/\/[^/?#]+/.test(endpoint)) {
    throw new PermanentStorageError(`AWS_ENDPOINT_URL_S3: must be an http(s) URL, got ${JSON.stringify(endpoint)}`, 'InvalidTarget');
  }
  const client = new S3Client({
    endpoint,
    region: target.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1'),
    credentials: credentialsFor(target, env),
    // Custom endpoints rarely support virtual-host buckets on their own host names.
    forcePathStyle: target.forcePathStyle ?? endpoint !== undefined,
    followRegionRedirects: endpoint === undefined,
    // Many S3-compatible servers reject the SDK's default CRC32 trailers; AWS itself gets them.
    requestChecksumCalculation: endpoint === undefined ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    responseChecksumValidation: endpoint === undefined ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    // A server that stops answering fails the request instead of hanging it.
    requestHandler: { connectionTimeout: 5_000, socketTimeout: 120_000 },
    maxAttempts: 3,
  });
  client.middlewareStack.add(unsignedPayload, { step: 'build', name: 'dbferryUnsignedPayload' });
  return client;
}

// SigV4 would otherwise hash every part body a second time only to sign it (measured on a quiet
// machine, 112 MB to versitygw: 0.52 s and 0.47 s of worker CPU signed, 0.45 s and 0.38 s unsigned). The backup's own sha256 is computed while streaming, stored in the manifest and
// checked on every restore, end to end; TLS guards the transfer to AWS. So parts are sent as
// UNSIGNED-PAYLOAD (as the SDK itself does for streams), unless a checksum mode already set the header.
const UPLOADS = new Set(['UploadPartCommand', 'PutObjectCommand']);
const unsignedPayload: BuildMiddleware<object, MetadataBearer> = (next, context) => async (args) => {
  const request = args.request as { headers?: Record<string, string> } | undefined;
  if (
    UPLOADS.has(context.commandName ?? '') &&
    request?.headers &&
    !Object.keys(request.headers).some((h) => h.toLowerCase() === 'x-amz-content-sha256')
  ) {
    request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
  }
  return next(args);
};

function credentialsFor(target: TargetConfig, env: NodeJS.ProcessEnv) {
  if (target.accessKeyIdEnv && target.secretAccessKeyEnv) {
    const accessKeyId = env[target.accessKeyIdEnv];
    const secretAccessKey = env[target.secretAccessKeyEnv];
    if (!accessKeyId)
      throw new PermanentStorageError(`accessKeyIdEnv: environment variable ${target.accessKeyIdEnv} is not set`, 'MissingCredentials');
    if (!secretAccessKey)
      throw new PermanentStorageError(
        `secretAccessKeyEnv: environment variable ${target.secretAccessKeyEnv} is not set`,
        'MissingCredentials',
      );
    return { accessKeyId, secretAccessKey };
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    };
  }
  return undefined; // the SDK's own chain: shared profiles, SSO, container and instance roles
}

/** Wraps an SDK error as permanent or transient (plain Error), saying what was attempted and keeping `cause`. */
function storageFailure(action: string, err: unknown): Error {
  if (err instanceof PermanentStorageError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const detail = [e.name !== 'Error' ? e.name : '', status ? `HTTP ${status}` : '', e.message].filter(Boolean).join(': ');
  const message = `${action}: ${detail}`;
  const permanent = isPermanentStorageError(e) || status === 401 || status === 403;
  return permanent ? new PermanentStorageError(message, e.name, { cause: e }) : new Error(message, { cause: e });
}

const isNotFound = (err: unknown) =>
  err instanceof Error &&
  (['NotFound', 'NoSuchKey', 'NoSuchUpload'].includes(err.name) ||
    (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);

/** A store over one bucket and prefix. */
export function createS3Store(target: TargetConfig, location: S3Location, env: NodeJS.ProcessEnv): BackupStore {
  const client = createS3Client(target, env);
  const { bucket, prefix } = location;
  const base = prefix ? `${prefix}/` : '';
  const url = `s3://${bucket}/${prefix}`;
  const objectKey = (key: string) => base + safeKey(key);
  const where = (key: string) => `s3://${bucket}/${base}${key}`;

  const download = async (key: string, { signal }: { signal?: AbortSignal } = {}): Promise<Readable> => {
    try {
      const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }), { abortSignal: signal });
      if (!(Body instanceof Readable)) throw new Error('GetObject returned no stream');
      if (signal) {
        const onAbort = () => Body.destroy(signal.reason instanceof Error ? signal.reason : new Error('download aborted'));
        signal.addEventListener('abort', onAbort, { once: true });
        Body.once('close', () => signal.removeEventListener('abort', onAbort));
      }
      return Body;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      throw storageFailure(`downloading ${where(key)}`, err);
    }
  };

  return {
    url,
    async upload(key, body, options = {}) {
      return { ...(await uploadObject(client, bucket, objectKey(key), body, options)), key };
    },

    download,

    async head(key) {
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey(key) }));
        return { size: out.ContentLength ?? 0 };
      } catch (err) {
        if (isNotFound(err) && (err as Error).name !== 'NoSuchBucket') return null;
        throw storageFailure(`reading ${where(key)}`, err);
      }
    },

    async *list(listPrefix) {
      const full = base + safeListPrefix(listPrefix);
      try {
        for await (const page of paginateListObjectsV2({ client, pageSize: 1000 }, { Bucket: bucket, Prefix: full })) {
          for (const o of page.Contents ?? []) {
            if (o.Key?.startsWith(base))
              yield { key: o.Key.slice(base.length), size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
          }
        }
      } catch (err) {
        throw storageFailure(`listing ${where(listPrefix)}`, err);
      }
    },

    async delete(keys) {
      const full = keys.map(objectKey);
      // DeleteObjects takes at most 1000 keys per request.
      for (let i = 0; i < full.length; i += 1000) {
        const batch = full.slice(i, i + 1000);
        let errors;
        try {
          ({ Errors: errors } = await client.send(
            new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
          ));
        } catch (err) {
          throw storageFailure(`deleting ${batch.length} objects from ${url}`, err);
        }
        const first = errors?.find((e) => e.Code !== 'NoSuchKey');
        if (first) {
          const cause = Object.assign(new Error(first.Message ?? ''), { name: first.Code ?? 'Error' });
          throw storageFailure(`deleting s3://${bucket}/${first.Key} (and ${errors!.length - 1} more failures)`, cause);
        }
      }
    },

    async presign(key, expiresSeconds) {
      if (!Number.isInteger(expiresSeconds) || expiresSeconds < 1 || expiresSeconds > MAX_PRESIGN_SECONDS) {
        throw new PermanentStorageError(`expiresSeconds: must be an integer from 1 to ${MAX_PRESIGN_SECONDS}`, 'InvalidArgument');
      }
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: objectKey(key) }), { expiresIn: expiresSeconds });
    },

    async putJson(key, value) {
      const body = Buffer.from(JSON.stringify(value, null, 2));
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: objectKey(key), Body: body, ContentType: 'application/json' }));
      } catch (err) {
        throw storageFailure(`writing ${where(key)}`, err);
      }
    },

    getJson: async (key) => readJson(await download(key), where(key)),

    async ensureBucket() {
      try {
        await client.send(new HeadBucketCommand({ Bucket: bucket }));
        return;
      } catch (err) {
        if (!isNotFound(err) && (err as Error).name !== 'NoSuchBucket') throw storageFailure(`checking bucket ${bucket}`, err);
      }
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (err) {
        if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw storageFailure(`creating bucket ${bucket}`, err);
      }
    },

    async removeIncompleteUploads(key) {
      const full = objectKey(key);
      let removed = 0;
      try {
        let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
        for (;;) {
          const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: full, ...markers }));
          for (const upload of page.Uploads ?? []) {
            if (upload.Key !== full || !upload.UploadId) continue; // a longer key with this prefix
            const aborted = await client
              .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: full, UploadId: upload.UploadId }))
              .then(
                () => true,
                (err: unknown) => {
                  if ((err as Error).name === 'NoSuchUpload') return false; // finished or aborted meanwhile
                  throw err;
                },
              );
            if (aborted) removed++;
          }
          if (!page.IsTruncated) return removed;
          markers = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
        }
      } catch (err) {
        throw storageFailure(`removing unfinished uploads of ${where(key)}`, err);
      }
    },

    close: () => client.destroy(),
  };
}

/** The part size for an object of about `sizeHint` bytes: 8 MiB, or more when 10,000 parts would not hold twice that. */
export function partSizeFor(sizeHint = 0): number {
  const needed = Math.ceil((2 * sizeHint) / MAX_PARTS / MiB) * MiB;
  return Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, needed));
}

// lib-storage's own `abort()` makes `done()` reject at once while parts already sent keep going and
// AbortMultipartUpload is sent later in the background (never, if the body stalls), and an abort
// during a single PutObject still lets the object appear afterwards (all three seen against
// versitygw). So an abort here fails the body stream and cancels the UploadPart requests, and
// `done()` is awaited: it settles only after lib-storage has aborted the multipart upload. The
// commit (PutObject or CompleteMultipartUpload) is never cancelled, so its outcome is known, and an
// object committed despite the abort is deleted. Nothing of an aborted or failed upload remains.
async function uploadObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: Readable,
  options: UploadOptions,
): Promise<Omit<UploadResult, 'key'>> {
  const { signal, contentType } = options;
  signal?.throwIfAborted();
  const where = `s3://${bucket}/${key}`;
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  // Errors on either side surface through `done()`; not awaited, since a source that ignores
  // destroy() must not be able to hang the upload.
  void pipeline(body, tap).catch(() => undefined);

  const parts = new AbortController();
  let commitSent = false;
  // The client lib-storage sees: only UploadPart carries the abort signal.
  const watchedClient = Object.create(client, {
    send: {
      value: (command: Parameters<S3Client['send']>[0], opts?: { abortSignal?: AbortSignal }) => {
        if (command instanceof PutObjectCommand || command instanceof CompleteMultipartUploadCommand) commitSent = true;
        return client.send(command, command instanceof UploadPartCommand ? { ...opts, abortSignal: parts.signal } : opts);
      },
    },
  }) as S3Client;
  const upload = new Upload({
    client: watchedClient,
    params: { Bucket: bucket, Key: key, Body: tap, ContentType: contentType },
    partSize: partSizeFor(options.sizeHint),
    queueSize: QUEUE_SIZE,
    leavePartsOnError: false,
  });
  const onAbort = () => {
    const reason = signal?.reason instanceof Error ? signal.reason : new Error('upload aborted');
    parts.abort(reason);
    tap.destroy(reason);
    body.destroy(reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });

  try {
    await upload.done();
    signal?.throwIfAborted();
    const stored = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (stored.ContentLength !== size) throw new Error(`stored ${stored.ContentLength} bytes but ${size} were sent`);
    return { size, sha256: hash.digest('hex') };
  } catch (err) {
    body.destroy();
    tap.destroy();
    await removeLeftovers(client, bucket, key, upload.uploadId, commitSent);
    if (signal?.aborted) throw signal.reason;
    throw storageFailure(`uploading ${where}`, err);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

// Best effort: when the server is unreachable these fail too, and the orphan sweep (or a bucket
// lifecycle rule for incomplete multipart uploads) removes what is left.
async function removeLeftovers(client: S3Client, bucket: string, key: string, uploadId: string | undefined, commitSent: boolean) {
  const quick = { abortSignal: AbortSignal.timeout(10_000) };
  if (uploadId) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }), quick).catch(() => undefined);
  }
  if (commitSent) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), quick).catch(() => undefined);
}
