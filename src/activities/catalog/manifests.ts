// Reading the JSON manifests stored beside backups: parsed at the edge, so a damaged or foreign
// document is refused (naming the field) rather than trusted.
import { z } from 'zod';
import { describeZodError } from '../../shared/names.ts';
import { MANIFEST_SUFFIX, type BackupManifest } from '../../workflows/backup/contracts.ts';
import { PermanentStorageError, type BackupStore } from '../storage/store.ts';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO date');

export const backupManifestSchema = z.object({
  manifestVersion: z.literal(1),
  id: z.string().min(1),
  kind: z.literal('logical'),
  source: z.object({ connection: z.string().min(1), database: z.string().min(1) }),
  target: z.string().min(1),
  key: z.string().min(1),
  format: z.enum(['mydumper', 'mysqldump']),
  compression: z.enum(['gzip', 'zstd']),
  size: z.number().int().nonnegative(),
  sha256: sha256Hex,
  startedAt: isoDate,
  finishedAt: isoDate,
  durationMs: z.number().nonnegative(),
  tool: z.object({ name: z.string(), version: z.string() }),
  server: z.object({ version: z.string() }),
  tables: z.array(z.object({ table: z.string(), rows: z.number().int().nonnegative() })),
  scheduleId: z.string().nullable(),
  database: z.object({ charset: z.string(), collation: z.string() }).optional(),
}) satisfies z.ZodType<BackupManifest>;

/** Validates a manifest read from a target; `where` names it in the error. */
export function parseManifest(value: unknown, where: string): BackupManifest {
  const parsed = backupManifestSchema.safeParse(value);
  if (!parsed.success)
    throw new PermanentStorageError(`${where}: not a valid backup manifest (${describeZodError(parsed.error)})`, 'InvalidManifest');
  return parsed.data;
}

/** Reads and validates the manifest of the backup stored at `key`. */
export async function readManifest(store: BackupStore, key: string): Promise<BackupManifest> {
  const manifestKey = `${key}${MANIFEST_SUFFIX}`;
  return parseManifest(await store.getJson(manifestKey), `${store.url}/${manifestKey}`);
}

/**
 * Every valid manifest under `prefix`, with the keys of documents that could not be read or
 * validated (never deleted nor trusted by callers: someone else's file, or a damaged one).
 */
export async function listManifests(store: BackupStore, prefix: string): Promise<{ manifests: BackupManifest[]; invalid: string[] }> {
  const manifests: BackupManifest[] = [];
  const invalid: string[] = [];
  for await (const object of store.list(prefix)) {
    if (!object.key.endsWith(MANIFEST_SUFFIX)) continue;
    try {
      const manifest = parseManifest(await store.getJson(object.key), `${store.url}/${object.key}`);
      // A manifest describes the object beside it; one that points elsewhere is not trusted.
      if (`${manifest.key}${MANIFEST_SUFFIX}` === object.key) manifests.push(manifest);
      else invalid.push(object.key);
    } catch (error) {
      if (!(error instanceof PermanentStorageError)) throw error;
      invalid.push(object.key);
    }
  }
  return { manifests, invalid };
}
