// The workflow bundle, built once per version of the code and cached on disk. Bundling (webpack +
// swc) takes seconds and leaves ~80 MiB in the process that ran it, so it runs in a short-lived
// child process; every worker of the same code then loads the cached file.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, utimes } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SRC = fileURLToPath(new URL('..', import.meta.url));
const WORKFLOWS = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
const BUNDLER = fileURLToPath(new URL('./bundle-workflows.mjs', import.meta.url));
const STALE_MS = 7 * 24 * 3600_000;

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|mjs|js|json)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A digest of everything the bundle can be built from: the sources and the workflow runtime's version. */
export async function workflowCodeDigest(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await sourceFiles(SRC)) {
    hash
      .update(relative(SRC, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  }
  for (const pkg of ['@temporalio/workflow', '@temporalio/worker']) {
    const manifest = createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    hash.update(JSON.parse(await readFile(manifest, 'utf8')).version as string);
  }
  return hash.digest('hex').slice(0, 20);
}

/** Where bundles are cached: DBFERRY_CACHE_DIR, else ~/.cache/dbferry, else the temp dir. */
async function cacheDir(): Promise<string> {
  const candidates = [process.env.DBFERRY_CACHE_DIR, join(homedir(), '.cache', 'dbferry'), join(tmpdir(), 'dbferry-cache')];
  for (const dir of candidates) {
    if (!dir) continue;
    try {
      await mkdir(join(dir, 'workflow-bundles'), { recursive: true });
      return join(dir, 'workflow-bundles');
    } catch {
      // not writable here (a read-only home in a container): try the next one
    }
  }
  throw new Error('no writable cache directory for the workflow bundle (set DBFERRY_CACHE_DIR)');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The path of the bundle for the current code, building it first (in a child process) when the
 * cache does not have it. Concurrent workers may both build it; the rename makes that harmless.
 */
export async function workflowBundlePath(): Promise<string> {
  const dir = await cacheDir();
  const path = join(dir, `workflows-${await workflowCodeDigest()}.js`);
  if (await exists(path)) {
    const now = new Date();
    await utimes(path, now, now).catch(() => undefined); // in use: not stale
    return path;
  }
  try {
    await promisify(execFile)(process.execPath, [BUNDLER, WORKFLOWS, path], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`bundling the workflows failed: ${e.stderr?.trim() || e.message}`, { cause: error });
  }
  await pruneStaleBundles(dir, path);
  return path;
}

/** Removes bundles of other code not used for a week (temp files of killed builds too). */
async function pruneStaleBundles(dir: string, keep: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [])) {
    const file = join(dir, name);
    if (file === keep || !name.startsWith('workflows-')) continue;
    const info = await stat(file).catch(() => null);
    if (info && Date.now() - info.mtimeMs > STALE_MS) await rm(file, { force: true });
  }
}
