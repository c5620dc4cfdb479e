// Physical backup manifests read from a target: parsed at the edge, like logical ones, so a damaged
// or foreign document is refused (naming the field) rather than trusted by a chain restore.
import { z } from 'zod';
import { MANIFEST_SUFFIX } from '../../workflows/backup/contracts.ts';
import { describeZodError } from '../../shared/names.ts';
import type { PhysicalBackupManifest } from '../../workflows/physical/contracts.ts';
import { PermanentStorageError, type BackupStore } from '../storage/store.ts';

const lsn = z.string().regex(/^\d{1,20}$/, 'must be a decimal LSN');
const isoDate = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO date');

export const physicalManifestSchema = z
  .object({
    manifestVersion: z.literal(1),
    id: z.string().min(1),
    kind: z.enum(['physical-full', 'physical-incremental']),
    source: z.object({ connection: z.string().min(1) }),
    target: z.string().min(1),
    key: z.string().min(1),
    format: z.literal('xbstream'),
    compression: z.enum(['gzip', 'zstd']),
    size: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
    streamBytes: z.number().int().nonnegative(),
    startedAt: isoDate,
    finishedAt: isoDate,
    durationMs: z.number().nonnegative(),
    tool: z.object({ name: z.enum(['mariabackup', 'xtrabackup']), version: z.string() }),
    server: z.object({ version: z.string(), flavor: z.enum(['mariadb', 'mysql']) }),
    chainId: z.string().min(1),
    parentId: z.string().min(1).nullable(),
    fromLsn: lsn,
    toLsn: lsn,
    binlog: z.object({ file: z.string(), position: z.number().int().nonnegative(), gtid: z.string().nullable() }).nullable(),
    scheduleId: z.string().nullable(),
  })
  .refine((m) => (m.kind === 'physical-full') === (m.parentId === null), {
    message: 'a full has no parent and an incremental has one',
    path: ['parentId'],
  })
  .refine((m) => m.kind !== 'physical-full' || m.chainId === m.id, {
    message: 'a full starts its own chain',
    path: ['chainId'],
  }) satisfies z.ZodType<PhysicalBackupManifest>;

/** True when a JSON document claims to be a physical manifest (so the logical parser's complaint does not apply). */
export const looksPhysical = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { kind?: unknown }).kind === 'string' &&
  (value as { kind: string }).kind.startsWith('physical-');

export function parsePhysicalManifest(value: unknown, where: string): PhysicalBackupManifest {
  const parsed = physicalManifestSchema.safeParse(value);
  if (!parsed.success)
    throw new PermanentStorageError(
      `${where}: not a valid physical backup manifest (${describeZodError(parsed.error)})`,
      'InvalidManifest',
    );
  return parsed.data;
}

/** Every valid physical manifest under `prefix` that sits beside its object; the rest are named in `invalid`. */
export async function listPhysicalManifests(
  store: BackupStore,
  prefix: string,
): Promise<{ manifests: PhysicalBackupManifest[]; invalid: string[] }> {
  const manifests: PhysicalBackupManifest[] = [];
  const invalid: string[] = [];
  for await (const object of store.list(prefix)) {
    if (!object.key.endsWith(MANIFEST_SUFFIX)) continue;
    const value = await store.getJson(object.key).catch((error: unknown) => {
      if (error instanceof PermanentStorageError) return null;
      throw error;
    });
    if (!looksPhysical(value)) continue;
    try {
      const manifest = parsePhysicalManifest(value, `${store.url}/${object.key}`);
      if (`${manifest.key}${MANIFEST_SUFFIX}` === object.key) manifests.push(manifest);
      else invalid.push(object.key);
    } catch (error) {
      if (!(error instanceof PermanentStorageError)) throw error;
      invalid.push(object.key);
    }
  }
  return { manifests, invalid };
}
