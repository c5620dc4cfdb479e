// The backup catalog, rebuilt from a target alone: every `<key>.manifest.json` object, parsed and
// checked. Nothing here needs the control schema or Temporal, so `dbferry backups list --target`
// works with only the config file, and the API reads the same catalog.
import { MANIFEST_SUFFIX, type BackupManifest } from '../../workflows/backup/contracts.ts';
import { parseManifest } from './manifests.ts';
import { looksPhysical, parsePhysicalManifest } from './physical-manifests.ts';
import type { PhysicalBackupManifest } from '../../workflows/physical/contracts.ts';
import type { BackupStore } from '../storage/store.ts';

/** A manifest the catalog could not use, and why (shown, never fatal). */
export interface CatalogProblem {
  key: string;
  message: string;
}

export interface Catalog {
  manifests: BackupManifest[];
  problems: CatalogProblem[];
  /** Physical backup pieces (mariabackup chains), newest first; listed apart, restored through restoreChain. */
  physical?: PhysicalBackupManifest[];
}

interface CachedManifest {
  stamp: string;
  manifest: BackupManifest | null;
  problem: string | null;
  physical?: PhysicalBackupManifest | null;
}

/** Manifests never change once written: remembering them by key, size and mtime saves a GET each. */
export class ManifestCache {
  readonly #entries = new Map<string, CachedManifest>();
  get(key: string, stamp: string): CachedManifest | undefined {
    const hit = this.#entries.get(key);
    return hit?.stamp === stamp ? hit : undefined;
  }
  set(key: string, entry: CachedManifest): void {
    this.#entries.set(key, entry);
  }
  /** Forgets manifests that are no longer in the bucket (deleted by retention). */
  retain(keys: Set<string>): void {
    for (const key of this.#entries.keys()) if (!keys.has(key)) this.#entries.delete(key);
  }
}

const FETCH_CONCURRENCY = 8;

async function readOne(store: BackupStore, key: string): Promise<Omit<CachedManifest, 'stamp'>> {
  try {
    const value = await store.getJson(key);
    if (looksPhysical(value)) {
      const physical = parsePhysicalManifest(value, key);
      const misplaced = `${physical.key}${MANIFEST_SUFFIX}` !== key;
      return {
        manifest: null,
        physical: misplaced ? null : physical,
        problem: misplaced ? `${key}: names key ${JSON.stringify(physical.key)}, but a manifest must sit beside its backup` : null,
      };
    }
    const manifest = parseManifest(value, key);
    // A manifest describes the object beside it; one that points elsewhere is not trusted.
    if (`${manifest.key}${MANIFEST_SUFFIX}` !== key) {
      return { manifest: null, problem: `${key}: names key ${JSON.stringify(manifest.key)}, but a manifest must sit beside its backup` };
    }
    return { manifest, problem: null };
  } catch (error) {
    return { manifest: null, problem: (error as Error).message };
  }
}

/**
 * Reads every manifest under the target, newest first (by start time, then id). Unreadable or
 * inconsistent manifests are reported in `problems`, not thrown; a failure to list the target is
 * thrown.
 */
export async function readCatalog(store: BackupStore, cache = new ManifestCache()): Promise<Catalog> {
  const listed: Array<{ key: string; stamp: string }> = [];
  for await (const object of store.list('')) {
    if (object.key.endsWith(MANIFEST_SUFFIX)) listed.push({ key: object.key, stamp: `${object.size}@${object.lastModified.getTime()}` });
  }
  cache.retain(new Set(listed.map((o) => o.key)));
  const pending = listed.filter((o) => !cache.get(o.key, o.stamp));
  for (let i = 0; i < pending.length; i += FETCH_CONCURRENCY) {
    await Promise.all(
      pending.slice(i, i + FETCH_CONCURRENCY).map(async ({ key, stamp }) => cache.set(key, { stamp, ...(await readOne(store, key)) })),
    );
  }
  const manifests: BackupManifest[] = [];
  const physical: PhysicalBackupManifest[] = [];
  const problems: CatalogProblem[] = [];
  for (const { key, stamp } of listed) {
    const entry = cache.get(key, stamp)!;
    if (entry.manifest) manifests.push(entry.manifest);
    else if (entry.physical) physical.push(entry.physical);
    else problems.push({ key, message: entry.problem ?? 'unreadable' });
  }
  return { manifests: manifests.sort(newestFirst), problems, physical: physical.sort(newestFirst) };
}

/** Newest first by start time, ties by id (descending), so pages are stable. */
export function newestFirst(a: { startedAt: string; id: string }, b: { startedAt: string; id: string }): number {
  return Date.parse(b.startedAt) - Date.parse(a.startedAt) || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
