// Where a folder restore (a physical chain delivered as a datadir) may write: strictly inside one
// of the config's `restoreRoots`, never `/`, a system directory, a server's datadir or `workDir`,
// judged on the path as given and on its real path (the nearest existing ancestor's realpath, so a
// symlink cannot lead out of the roots). Checked by the API before anything starts and again by
// the activity on the worker, whose filesystem is the one written to.
import { lstat, readlink, realpath } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve } from 'node:path';
import type { Pool, RowDataPacket } from 'mysql2/promise';

export interface FolderRules {
  /** Absolute, normalized directories folder restores may write into (none: every folder is refused). */
  restoreRoots: readonly string[];
  workDir: string;
  /** The datadirs of the configured connections' servers. */
  datadirs: readonly string[];
}

export interface FolderProblem {
  /** `invalid`: the path itself is malformed (400); `forbidden`: a place restores may not write (403). */
  kind: 'invalid' | 'forbidden';
  message: string;
}

/** Directories no restore may write into, or anywhere below. */
const SYSTEM_DIRS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/lib/mysql',
  '/var/run',
];

/** `a` is `b` or below it. */
export const isWithin = (a: string, b: string): boolean => a === b || a.startsWith(b === '/' ? '/' : `${b}/`);
const strictlyWithin = (a: string, b: string): boolean => a !== b && isWithin(a, b);
/** The two paths overlap: one is the other or below it. */
const overlaps = (a: string, b: string): boolean => isWithin(a, b) || isWithin(b, a);

const trimmed = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);

/**
 * The real path `p` leads to: the realpath of its nearest existing ancestor (or of `p` itself),
 * with the components that do not exist yet appended. A dangling symlink is followed to where it
 * points, since a restore creating that path would write there.
 */
export async function realPathOf(p: string, hops = 0): Promise<string> {
  const missing: string[] = [];
  let current = p;
  for (;;) {
    let link: string | null = null;
    try {
      const stats = await lstat(current);
      if (stats.isSymbolicLink()) link = await readlink(current);
      const real = await realpath(current);
      return missing.length ? join(real, ...missing.reverse()) : real;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      if (link !== null) {
        if (hops >= 40) throw Object.assign(new Error(`too many symbolic links at ${current}`), { code: 'ELOOP' });
        return realPathOf(join(resolve(posix.dirname(current), link), ...missing.reverse()), hops + 1);
      }
      if (current === '/') return p;
      missing.push(posix.basename(current));
      current = posix.dirname(current);
    }
  }
}

/** Why `folder` may not receive a restore under `rules`, or null when it may. Never touches the folder. */
export async function findRestoreFolderProblem(folder: string, rules: FolderRules): Promise<FolderProblem | null> {
  if (!isAbsolute(folder) || folder.includes('\0') || posix.normalize(folder) !== folder || (folder !== '/' && folder.endsWith('/')))
    return { kind: 'invalid', message: 'must be an absolute, normalized path (no //, . or .. segments, no trailing /)' };
  if (folder === '/') return { kind: 'forbidden', message: 'may not be / (a restore writes into a folder of its own)' };
  const roots = rules.restoreRoots.map(trimmed);
  if (!roots.length)
    return { kind: 'forbidden', message: 'folder restores are off: the config names no restoreRoots (directories they may write into)' };

  let real: string;
  let realRoots: string[];
  try {
    [real, ...realRoots] = await Promise.all([realPathOf(folder), ...roots.map(realPathOf)]);
  } catch (error) {
    return { kind: 'forbidden', message: `cannot be checked (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  for (const path of new Set([folder, real])) {
    const system = SYSTEM_DIRS.find((dir) => isWithin(path, dir));
    if (system) return { kind: 'forbidden', message: `may not be in the system directory ${system}` };
  }
  // Inside a root as written, and still inside that root once symlinks are followed.
  const inside = roots.some((root, i) => strictlyWithin(folder, root) && strictlyWithin(real, realRoots[i]!));
  if (!inside) {
    const escapes = roots.some((root) => strictlyWithin(folder, root));
    return {
      kind: 'forbidden',
      message: escapes
        ? 'leads outside the restoreRoots through a symbolic link'
        : `must be inside one of the restoreRoots (${roots.join(', ')})`,
    };
  }
  const guarded: Array<[string, string]> = [
    [trimmed(rules.workDir), "dbferry's workDir"],
    ...rules.datadirs.map((d): [string, string] => [trimmed(d), "a database server's datadir"]),
  ];
  for (const [dir, what] of guarded) {
    const realDir = await realPathOf(dir).catch(() => dir);
    if (overlaps(folder, dir) || overlaps(real, realDir)) return { kind: 'forbidden', message: `may not be or hold ${what}` };
  }
  return null;
}

/** How long a server may take to say where its datadir is. */
const DATADIR_TIMEOUT_MS = 3000;

/**
 * The datadirs of the configured connections: each connection's `datadir`, else the server's own
 * `@@datadir`, read once per connection and kept (a server that does not answer is skipped and
 * asked again next time: the other process's check still runs).
 */
export class Datadirs {
  readonly #cache = new Map<string, string | null>();
  constructor(
    private readonly connections: Readonly<Record<string, { datadir?: string | undefined }>>,
    private readonly pool: (connection: string) => Pick<Pool, 'query'>,
  ) {}

  async all(): Promise<string[]> {
    const dirs = await Promise.all(Object.keys(this.connections).map((name) => this.of(name)));
    return [...new Set(dirs.filter((d): d is string => d !== null))];
  }

  private async of(name: string): Promise<string | null> {
    const configured = this.connections[name]?.datadir;
    if (configured) return configured;
    if (this.#cache.has(name)) return this.#cache.get(name)!;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), DATADIR_TIMEOUT_MS);
      });
      const [rows] = await Promise.race([this.pool(name).query<RowDataPacket[]>('SELECT @@datadir AS d'), timeout]);
      const dir = rows[0]?.d ? trimmed(String(rows[0].d)) : null;
      this.#cache.set(name, dir);
      return dir;
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
