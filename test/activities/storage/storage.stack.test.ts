// S3 stores against a real S3-compatible server: streamed uploads, bounded memory, aborts that leave
// nothing behind, listing and deleting, credentials, and which failures are permanent.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startS3Server } from '../../../src/dev/s3-server.ts';
import { createStore, isPermanentStorageError, type BackupStore } from '../../../src/activities/storage/store.ts';
import { generatedSource, keysOf, measured, MiB, pendingUploads, sha256Of, waitForPendingUpload } from './sources.ts';

const s3 = inject('s3');
// The standard AWS variables, as a worker would see them.
const awsEnv = {
  AWS_ACCESS_KEY_ID: s3.accessKeyId,
  AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  AWS_ENDPOINT_URL_S3: s3.endpoint,
  AWS_REGION: s3.region,
};
const bucket = `dbferry-storage-${randomBytes(4).toString('hex')}`;
const prefix = 'backups/test';
const raw = new S3Client({
  endpoint: s3.endpoint,
  region: s3.region,
  forcePathStyle: true,
  credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
});

let store: BackupStore;

beforeAll(async () => {
  store = createStore({ url: `s3://${bucket}/${prefix}` }, awsEnv);
  await store.ensureBucket();
  // A tiny upload first, so lazily loaded SDK code is not counted as upload memory.
  await store.upload('warm-up.bin', Readable.from([Buffer.from('warm')]));
});

afterAll(async () => {
  store?.close();
  raw.destroy();
});

describe('S3 store', () => {
  it('a 64 MiB streamed upload lands with the right size and sha256', async () => {
    const size = 64 * MiB;
    const source = generatedSource(size);
    const { result, growthMiB, peakMiB, seconds } = await measured(() =>
      store.upload('big/64mib.bin', source.stream, { contentType: 'application/octet-stream' }),
    );

    expect(result).toEqual({ key: 'big/64mib.bin', size, sha256: source.sha256() });
    expect(await store.head('big/64mib.bin')).toEqual({ size });
    expect(await sha256Of(await store.download('big/64mib.bin'))).toEqual({ size, sha256: result.sha256 });
    console.log(`64 MiB upload: ${seconds.toFixed(2)} s, rss growth ${growthMiB.toFixed(1)} MiB, peak ${peakMiB.toFixed(0)} MiB`);
    expect(growthMiB).toBeLessThan(128); // a buffered upload would hold the object and a copy of it
  });

  // Node frees Buffers only when V8 collects garbage, which it triggers after about 64 MiB of new
  // external memory, so RSS can grow by that much during any stream; the object size must not matter.
  it('memory stays well under the object size during a 256 MiB upload', async () => {
    const size = 256 * MiB;
    const source = generatedSource(size);
    const { result, growthMiB, peakMiB, seconds } = await measured(() => store.upload('big/256mib.bin', source.stream));

    expect(result).toMatchObject({ size, sha256: source.sha256() });
    console.log(`256 MiB upload: ${seconds.toFixed(2)} s, rss growth ${growthMiB.toFixed(1)} MiB, peak ${peakMiB.toFixed(0)} MiB`);
    expect(growthMiB).toBeLessThan(96);
    await store.delete(['big/256mib.bin']);
  });

  it('aborting mid-upload while the source is stalled leaves no object and no pending multipart upload', async () => {
    const key = 'abort/stalled.bin';
    const controller = new AbortController();
    const source = generatedSource(128 * MiB, { stallAt: 40 * MiB });
    const upload = store.upload(key, source.stream, { signal: controller.signal });
    upload.catch(() => undefined);
    await waitForPendingUpload(raw, bucket, `${prefix}/${key}`);
    controller.abort();

    await expect(upload).rejects.toMatchObject({ name: 'AbortError' });
    expect(await pendingUploads(raw, bucket, `${prefix}/${key}`)).toBe(0);
    expect(await store.head(key)).toBeNull();
    expect(source.stream.destroyed).toBe(true);
  });

  it('aborting while parts are in flight leaves no object and no pending multipart upload', async () => {
    const key = 'abort/flowing.bin';
    const controller = new AbortController();
    const upload = store.upload(key, generatedSource(512 * MiB).stream, { signal: controller.signal });
    upload.catch(() => undefined);
    await waitForPendingUpload(raw, bucket, `${prefix}/${key}`);
    await sleep(50);
    const abortedAt = Date.now();
    controller.abort();

    await expect(upload).rejects.toMatchObject({ name: 'AbortError' });
    console.log(`abort with parts in flight settled in ${Date.now() - abortedAt} ms`);
    expect(await pendingUploads(raw, bucket, `${prefix}/${key}`)).toBe(0);
    expect(await store.head(key)).toBeNull();
  });

  it('aborting a single-request upload at any moment leaves no object, not even a moment later', async () => {
    for (const delayMs of [0, 1, 3, 10, 30]) {
      const key = `abort/small-${delayMs}.bin`;
      const controller = new AbortController();
      const upload = store.upload(key, generatedSource(3 * MiB).stream, { signal: controller.signal });
      await sleep(delayMs);
      controller.abort();
      const outcome = await upload.then(
        () => 'stored',
        (e: Error) => e.name,
      );
      await sleep(300); // an object committed after the abort would show up by now
      // Either the upload finished before the abort came (and says so) or nothing is there.
      expect(await store.head(key)).toEqual(outcome === 'stored' ? { size: 3 * MiB } : null);
      if (outcome !== 'stored') expect(outcome).toBe('AbortError');
    }
  });

  it.each([
    ['after several parts', 40 * MiB],
    ['before the first part is complete', 3 * MiB],
  ])('a source stream that errors %s leaves no object and no pending multipart upload', async (_label, failAt) => {
    const key = `failed/at-${failAt}.bin`;
    const upload = store.upload(key, generatedSource(128 * MiB, { failAt }).stream);

    await expect(upload).rejects.toThrow(/source failed on purpose/);
    await expect(upload).rejects.toSatisfy((err) => !isPermanentStorageError(err));
    expect(await pendingUploads(raw, bucket, `${prefix}/${key}`)).toBe(0);
    expect(await store.head(key)).toBeNull();
  });

  it('lists, deletes, presigns and round-trips JSON manifests under the target prefix', async () => {
    const files = { 'shop/2026-01-01.sql.gz': 'one', 'shop/2026-01-02.sql.gz': 'two!', 'shop-eu/x.sql.gz': 'three' };
    for (const [key, text] of Object.entries(files)) await store.upload(key, Readable.from([Buffer.from(text)]));
    const manifest = { id: 'b1', sha256: 'ab'.repeat(32), tables: [{ name: 'orders', rows: 3 }] };
    await store.putJson('shop/2026-01-02.manifest.json', manifest);

    expect(await store.getJson('shop/2026-01-02.manifest.json')).toEqual(manifest);
    expect(await keysOf(store, 'shop/')).toEqual(['shop/2026-01-01.sql.gz', 'shop/2026-01-02.manifest.json', 'shop/2026-01-02.sql.gz']);
    const listed = [];
    for await (const o of store.list('shop-eu/')) listed.push(o);
    expect(listed).toEqual([{ key: 'shop-eu/x.sql.gz', size: 5, lastModified: expect.any(Date) }]);

    const url = await store.presign('shop/2026-01-02.sql.gz', 60);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    const response = await fetch(url!);
    expect(response.status).toBe(200);
    expect(Buffer.from(await response.arrayBuffer()).toString()).toBe('two!');

    await store.delete(['shop/2026-01-01.sql.gz', 'shop/never-existed.sql.gz']);
    expect(await keysOf(store, 'shop/')).toEqual(['shop/2026-01-02.manifest.json', 'shop/2026-01-02.sql.gz']);
    expect(await store.head('shop/2026-01-01.sql.gz')).toBeNull();
  });

  it('lists and deletes more than one page of objects', async () => {
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String(i).padStart(4, '0')}.json`);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.putJson(k, { i })));
    expect(await keysOf(store, 'many/')).toEqual(keys);
    await store.delete(keys);
    expect(await keysOf(store, 'many/')).toEqual([]);
  });

  it('takes credentials from the environment variables the target names', async () => {
    const named = createStore(
      { url: `s3://${bucket}/${prefix}`, endpoint: s3.endpoint, accessKeyIdEnv: 'BK_KEY', secretAccessKeyEnv: 'BK_SECRET' },
      { BK_KEY: s3.accessKeyId, BK_SECRET: s3.secretAccessKey },
    );
    try {
      await named.putJson('named/creds.json', { ok: true });
      expect(await store.getJson('named/creds.json')).toEqual({ ok: true });
      expect(() => createStore({ url: 's3://acme', accessKeyIdEnv: 'NOPE_KEY', secretAccessKeyEnv: 'NOPE_SECRET' }, {})).toThrow(
        /accessKeyIdEnv: environment variable NOPE_KEY is not set/,
      );
    } finally {
      named.close();
    }
  });

  it('recognises missing objects, missing buckets and bad credentials as permanent, and an unreachable server as transient', async () => {
    const expectFailure = async (promise: Promise<unknown>, permanent: boolean, message: RegExp) => {
      const err = await promise.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(message);
      expect(isPermanentStorageError(err)).toBe(permanent);
    };
    await expectFailure(store.download('no/such/key'), true, /NoSuchKey/);
    await expectFailure(store.upload('../escape', Readable.from([Buffer.from('x')])), true, /^key: must not contain \.\. segments/);

    const noBucket = createStore({ url: 's3://dbferry-no-such-bucket' }, awsEnv);
    const badKey = createStore({ url: `s3://${bucket}` }, { ...awsEnv, AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    const down = createStore({ url: `s3://${bucket}`, endpoint: 'http://127.0.0.1:9' }, awsEnv);
    try {
      await expectFailure(noBucket.upload('x', Readable.from([Buffer.from('x')])), true, /NoSuchBucket/);
      await expectFailure(badKey.putJson('x.json', {}), true, /SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied/);
      await expectFailure(down.putJson('x.json', {}), false, /ECONNREFUSED/);
    } finally {
      for (const s of [noBucket, badKey, down]) s.close();
    }
  });
});

describe('S3 server stopped during an upload', () => {
  it('makes the upload fail cleanly, and after a restart no object exists under that key', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dbferry-s3-restart-'));
    const own = await startS3Server({ dataDir });
    const target = { url: 's3://restart-test/backups', endpoint: own.endpoint, accessKeyIdEnv: 'K', secretAccessKeyEnv: 'S' };
    const ownStore = createStore(target, { K: own.accessKeyId, S: own.secretAccessKey });
    const ownRaw = new S3Client({ endpoint: own.endpoint, region: own.region, forcePathStyle: true, credentials: own });
    let restarted: Awaited<ReturnType<typeof startS3Server>> | undefined;
    try {
      await ownStore.ensureBucket();
      const key = 'shop/interrupted.bin';
      const upload = ownStore.upload(key, generatedSource(1024 * MiB).stream);
      upload.catch(() => undefined);
      await waitForPendingUpload(ownRaw, 'restart-test', `backups/${key}`);
      const stoppedAt = Date.now();
      await own.stop();

      const outcome = await Promise.race([
        upload.then(
          () => 'succeeded',
          (e: Error) => e,
        ),
        sleep(90_000, 'hung'),
      ]);
      expect(outcome).toBeInstanceOf(Error);
      console.log(`upload rejected ${Date.now() - stoppedAt} ms after the server was stopped: ${(outcome as Error).message.slice(0, 200)}`);
      expect(isPermanentStorageError(outcome)).toBe(false);

      restarted = await startS3Server({ dataDir });
      const after = createStore({ ...target, endpoint: restarted.endpoint }, { K: restarted.accessKeyId, S: restarted.secretAccessKey });
      const afterRaw = new S3Client({
        endpoint: restarted.endpoint,
        region: restarted.region,
        forcePathStyle: true,
        credentials: restarted,
      });
      try {
        expect(await after.head(key)).toBeNull();
        expect(await keysOf(after, 'shop/')).toEqual([]);
        console.log(`pending multipart uploads after restart: ${await pendingUploads(afterRaw, 'restart-test', `backups/${key}`)}`);
      } finally {
        after.close();
        afterRaw.destroy();
      }
    } finally {
      ownStore.close();
      ownRaw.destroy();
      await own.stop();
      await restarted?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
