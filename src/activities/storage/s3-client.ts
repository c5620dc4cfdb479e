// The S3 client of one target (its endpoint, region and credentials, else the AWS environment) and
// how its errors read: permanent (retrying cannot help) or transient, saying what was attempted.
import { S3Client } from '@aws-sdk/client-s3';
import type { BuildMiddleware, MetadataBearer } from '@smithy/types';
import { isPermanentStorageError, PermanentStorageError } from './store.ts';
import type { TargetConfig } from '../../config/targets.ts';

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
export function storageFailure(action: string, err: unknown): Error {
  if (err instanceof PermanentStorageError) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const detail = [e.name !== 'Error' ? e.name : '', status ? `HTTP ${status}` : '', e.message].filter(Boolean).join(': ');
  const message = `${action}: ${detail}`;
  const permanent = isPermanentStorageError(e) || status === 401 || status === 403;
  return permanent ? new PermanentStorageError(message, e.name, { cause: e }) : new Error(message, { cause: e });
}

export const isNotFound = (err: unknown) =>
  err instanceof Error &&
  (['NotFound', 'NoSuchKey', 'NoSuchUpload'].includes(err.name) ||
    (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404);
