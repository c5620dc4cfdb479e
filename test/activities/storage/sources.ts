// Test sources and probes for the storage tests: generated streams that can fail or stall, hashes,
// listings, pending multipart uploads and the memory an upload takes.
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { BackupStore } from '../../../src/activities/storage/store.ts';

export const MiB = 1024 * 1024;

/** Random bytes made on demand (never held whole), hashed as they go; can fail or stall at a byte offset. */
export function generatedSource(total: number, opts: { failAt?: number; stallAt?: number; chunk?: number } = {}) {
  const chunk = opts.chunk ?? MiB;
  const hash = createHash('sha256');
  let sent = 0;
  const stream = new Readable({
    highWaterMark: chunk,
    read() {
      if (opts.failAt !== undefined && sent >= opts.failAt) return this.destroy(new Error('source failed on purpose'));
      if (opts.stallAt !== undefined && sent >= opts.stallAt) return; // never pushes again
      if (sent >= total) return void this.push(null);
      const bytes = randomBytes(Math.min(chunk, total - sent));
      hash.update(bytes);
      sent += bytes.length;
      this.push(bytes);
    },
  });
  return { stream, sha256: () => hash.digest('hex'), sent: () => sent };
}

export async function sha256Of(stream: Readable): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { size, sha256: hash.digest('hex') };
}

export async function pendingUploads(client: S3Client, inBucket: string, key: string): Promise<number> {
  const { Uploads } = await client.send(new ListMultipartUploadsCommand({ Bucket: inBucket, Prefix: key }));
  return (Uploads ?? []).filter((u) => u.Key === key).length;
}

export async function waitForPendingUpload(client: S3Client, inBucket: string, key: string): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(25)) {
    if ((await pendingUploads(client, inBucket, key)) > 0) return;
  }
  throw new Error(`no multipart upload for ${key} appeared within 30s`);
}

export async function keysOf(store: BackupStore, listPrefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of store.list(listPrefix)) keys.push(object.key);
  return keys;
}

export async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** Runs `fn`, sampling this process's RSS every 5 ms: growth over the value just before, and the peak. */
export async function measured<T>(fn: () => Promise<T>) {
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = Date.now();
  try {
    const result = await fn();
    peak = Math.max(peak, process.memoryUsage().rss);
    return { result, growthMiB: (peak - before) / MiB, peakMiB: peak / MiB, seconds: (Date.now() - started) / 1000 };
  } finally {
    clearInterval(sampler);
  }
}
