// BackupStore on S3 or any S3-compatible server (MinIO, R2, versitygw), with one client per target
// (s3-client.ts) and uploads that leave nothing behind when they fail (s3-upload.ts).
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { PermanentStorageError, readJson, type BackupStore } from './store.ts';
import { safeKey, safeListPrefix, type TargetConfig, type TargetLocation } from '../../config/targets.ts';
import { createS3Client, isNotFound, storageFailure } from './s3-client.ts';
import { uploadObject } from './s3-upload.ts';

const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

type S3Location = Extract<TargetLocation, { kind: 's3' }>;

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
