// File stores on a local directory: streamed uploads, failures and aborts that leave no partial
// file, S3's listing order, and keys that would escape the root.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, isPermanentStorageError, type BackupStore } from '../../../src/activities/storage/store.ts';
import { filesUnder, generatedSource, keysOf, MiB, sha256Of } from './sources.ts';

let fileRoot: string;
let fileStore: BackupStore;

beforeAll(async () => {
  fileRoot = await mkdtemp(join(tmpdir(), 'dbferry-file-target-'));
  fileStore = createStore({ url: `file://${fileRoot}` }, {});
});

afterAll(async () => {
  if (fileRoot) await rm(fileRoot, { recursive: true, force: true });
});

describe('file store', () => {
  it('streams an upload to a file with the right size and sha256', async () => {
    const source = generatedSource(20 * MiB);
    const result = await fileStore.upload('shop/2026-01-01.sql.gz', source.stream);
    expect(result).toEqual({ key: 'shop/2026-01-01.sql.gz', size: 20 * MiB, sha256: source.sha256() });
    expect(await sha256Of(await fileStore.download('shop/2026-01-01.sql.gz'))).toEqual({ size: 20 * MiB, sha256: result.sha256 });
  });

  it('a source stream that errors mid-way, or an abort, leaves no file and no partial file', async () => {
    const before = await filesUnder(fileRoot);
    await expect(fileStore.upload('failed/x.bin', generatedSource(64 * MiB, { failAt: 8 * MiB }).stream)).rejects.toThrow(
      /source failed on purpose/,
    );

    const controller = new AbortController();
    const aborted = fileStore.upload('aborted/x.bin', generatedSource(64 * MiB, { stallAt: 8 * MiB }).stream, {
      signal: controller.signal,
    });
    await sleep(100);
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });

    expect(await filesUnder(fileRoot)).toEqual(before);
    expect(await fileStore.head('failed/x.bin')).toBeNull();
  });

  it('lists, deletes and round-trips JSON manifests, and cannot presign', async () => {
    await fileStore.upload('shop-eu/a.sql.gz', Readable.from([Buffer.from('a')]));
    await fileStore.upload('shop/b.sql.gz', Readable.from([Buffer.from('bb')]));
    await fileStore.putJson('shop/b.manifest.json', { id: 'b' });
    await writeFile(join(fileRoot, 'shop', 'c.sql.gz.partial-0123456789abcdef'), 'in progress');

    expect(await fileStore.getJson('shop/b.manifest.json')).toEqual({ id: 'b' });
    // Byte order of whole keys, as S3 lists them: `shop-eu/…` sorts before `shop/…`.
    expect(await keysOf(fileStore)).toEqual(['shop-eu/a.sql.gz', 'shop/2026-01-01.sql.gz', 'shop/b.manifest.json', 'shop/b.sql.gz']);
    expect(await keysOf(fileStore, 'shop/b')).toEqual(['shop/b.manifest.json', 'shop/b.sql.gz']);
    expect(await fileStore.presign('shop/b.sql.gz', 60)).toBeNull();

    await fileStore.delete(['shop-eu/a.sql.gz', 'shop/never-existed']);
    expect(await keysOf(fileStore, 'shop-eu/')).toEqual([]);
    expect(await readdir(fileRoot)).toEqual(['shop']); // the emptied directory is gone too
    expect(await fileStore.head('shop/b.sql.gz')).toEqual({ size: 2 });
  });

  it('refuses hostile keys and writes nothing outside its root', async () => {
    for (const key of ['../escape', '/etc/passwd', 'a/../../escape', 'x'.repeat(1000)]) {
      const err = await fileStore.upload(key, Readable.from([Buffer.from('x')])).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isPermanentStorageError(err)).toBe(true);
      expect((err as Error).message).toMatch(/^key: /);
    }
    await expect(fileStore.download('no/such/file')).rejects.toSatisfy(isPermanentStorageError);
  });
});
