// BackupStore on a local (or mounted) directory: objects are files under the root, written
// atomically (partial file, fsync, rename) so a reader never sees half a backup.
import { createHash, randomBytes } from 'node:crypto';
import { constants, createWriteStream, type Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { PermanentStorageError, readJson, type BackupStore, type StoredObject, type UploadOptions, type UploadResult } from './store.ts';
import { safeKey, safeListPrefix } from '../../config/targets.ts';

// Names of in-progress writes; `list` skips them and a sweep may delete old ones.
const PARTIAL = /\.partial-[0-9a-f]{16}$/;

const isErrno = (err: unknown, code: string) => (err as NodeJS.ErrnoException | undefined)?.code === code;

/** A store whose objects are files under `root` (an absolute path). */
export function createFileStore(root: string): BackupStore {
  const url = pathToFileURL(root).href;
  // safeKey refuses `..`, absolute and empty segments, so the joined path stays under root.
  const pathOf = (key: string) => join(root, ...safeKey(key).split('/'));

  // A missing root is usually a missing mount: refuse rather than fill the mount point's parent disk.
  const requireRoot = async () => {
    const s = await stat(root).catch(() => null);
    if (!s?.isDirectory()) throw new PermanentStorageError(`${url}: no such directory (create it, or check the mount)`, 'NoSuchBucket');
  };

  const download = async (key: string, { signal }: { signal?: AbortSignal } = {}): Promise<Readable> => {
    signal?.throwIfAborted();
    const path = pathOf(key);
    try {
      const file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      return file.createReadStream({ signal });
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new PermanentStorageError(`${url}/${key}: no such object`, 'NoSuchKey', { cause: err });
      throw new Error(`opening ${url}/${key}: ${(err as Error).message}`, { cause: err });
    }
  };

  const upload = async (key: string, body: Readable, { signal }: UploadOptions = {}): Promise<UploadResult> => {
    signal?.throwIfAborted();
    const path = pathOf(key);
    const partial = `${path}.partial-${randomBytes(8).toString('hex')}`;
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await requireRoot();
    const file = await openPartial(partial);
    try {
      // The stream owns the handle; `flush` fsyncs it before the close that pipeline waits for.
      await pipeline(body, tap, createWriteStream('', { fd: file, flush: true }), { signal });
      await rename(partial, path);
      await syncDirectory(dirname(path));
      return { key, size, sha256: hash.digest('hex') };
    } catch (err) {
      await file.close().catch(() => undefined); // already closed unless the stream never started
      await rm(partial, { force: true });
      await removeEmptyParents(root, dirname(path));
      if (signal?.aborted) throw signal.reason;
      throw new Error(`writing ${url}/${key}: ${(err as Error).message}`, { cause: err });
    }
  };

  return {
    url,
    upload,
    download,

    async head(key) {
      try {
        const s = await stat(pathOf(key));
        return s.isFile() ? { size: s.size } : null;
      } catch (err) {
        if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return null;
        throw err;
      }
    },

    async *list(prefix) {
      safeListPrefix(prefix);
      // Start at the deepest directory the prefix names; keys come out in S3's (byte) order.
      const dir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';
      for await (const object of walk(root, dir)) {
        if (object.key.startsWith(prefix)) yield object;
      }
    },

    async delete(keys) {
      for (const key of keys) {
        const path = pathOf(key);
        await rm(path, { force: true });
        await removeEmptyParents(root, dirname(path));
      }
    },

    presign: async () => null,

    async putJson(key, value) {
      await upload(key, Readable.from([Buffer.from(JSON.stringify(value, null, 2))]));
    },

    getJson: async (key) => readJson(await download(key), `${url}/${key}`),

    async ensureBucket() {
      await mkdir(root, { recursive: true });
    },

    async removeIncompleteUploads(key) {
      const path = pathOf(key);
      const prefix = `${basename(path)}.partial-`;
      const names = await readdir(dirname(path)).catch(() => [] as string[]);
      const partials = names.filter((n) => n.startsWith(prefix) && PARTIAL.test(n));
      for (const name of partials) await rm(join(dirname(path), name), { force: true });
      if (partials.length) await removeEmptyParents(root, dirname(path));
      return partials.length;
    },

    close: () => undefined,
  };
}

// Depth-first in byte order of the full key: a directory `a` sorts as `a/`, which is where its
// keys fall among siblings such as `a-b` and `a0`.
async function* walk(root: string, dir: string): AsyncGenerator<StoredObject> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(root, dir), { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return;
    throw err;
  }
  const sortKey = (e: Dirent) => Buffer.from(e.isDirectory() ? `${e.name}/` : e.name);
  entries.sort((a, b) => Buffer.compare(sortKey(a), sortKey(b)));
  for (const entry of entries) {
    const key = `${dir}${entry.name}`;
    if (entry.isDirectory()) {
      yield* walk(root, `${key}/`);
    } else if (entry.isFile() && !PARTIAL.test(entry.name)) {
      const s = await stat(join(root, key)).catch(() => null); // deleted meanwhile
      if (s) yield { key, size: s.size, lastModified: s.mtime };
    }
  }
}

// 0600: a backup holds the whole database. A concurrent delete or failed upload may remove the
// empty directory between mkdir and open, so that race is retried.
async function openPartial(partial: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    await mkdir(dirname(partial), { recursive: true });
    try {
      return await open(partial, 'wx', 0o600);
    } catch (err) {
      if (!isErrno(err, 'ENOENT') || attempt === 3) throw err;
    }
  }
}

// A rename is durable only once the directory entry is on disk.
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

// Keeps the tree tidy after deletes, never removing the root itself.
async function removeEmptyParents(root: string, dir: string): Promise<void> {
  for (let d = dir; d.startsWith(`${root}/`) && d !== root; d = dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (or gone): stop climbing
    }
  }
}
