// Streaming one object into S3: multipart with bounded memory, hashed on the way, and nothing left
// behind (no object, no pending upload) when it fails or is aborted.
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { UploadOptions, UploadResult } from './store.ts';
import { storageFailure } from './s3-client.ts';

// Live buffers per upload stay near (QUEUE_SIZE + 3) × part size whatever the object size (parts in
// flight, the next one filling, lib-storage's copy when it joins chunks into a part): about 45 MiB
// measured. Two uploaders keep reading the source while a part is sent. 8 MiB parts cap an object at 78 GiB (10,000 parts);
// `sizeHint` raises the part size for larger objects, keeping a 2× margin for a poor estimate.
const MiB = 1024 * 1024;
const MIN_PART_SIZE = 8 * MiB;
const MAX_PART_SIZE = 512 * MiB;
const MAX_PARTS = 10_000;
const QUEUE_SIZE = 2;

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
export async function uploadObject(
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
