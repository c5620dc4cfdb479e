// A backup log entry in seed 001's words (`file_path`, `file_size`, `duration` in seconds,
// `error_message`): the REST routes' answer, with its schema for the OpenAPI document.
import { z } from 'zod';
import { backupCompressionSchema, backupFormatSchema, backupStatusSchema } from './schemas.ts';
import type { BackupView } from './view.ts';

const time = z.string().nullable();

export const seedBackupSchema = z.object({
  id: z.string(),
  status: backupStatusSchema,
  source_connection: z.string(),
  source_db: z.string(),
  target: z.string(),
  format: backupFormatSchema.nullable(),
  compression: backupCompressionSchema.nullable(),
  file_path: z.string().nullable().describe('the object key inside the target'),
  file_size: z.number().int().nullable(),
  sha256: z.string().nullable(),
  duration: z.number().nullable().describe('seconds'),
  error_message: z.string().nullable(),
  started_at: time,
  finished_at: time,
  trigger: z.enum(['manual', 'schedule']),
  schedule: z.string().nullable(),
  available: z.boolean(),
  progress: z.number().int(),
  phase: z.string().nullable(),
  tables: z.array(z.object({ table: z.string(), rows: z.number().int() })).optional(),
});

export function toSeedBackup(v: BackupView): z.infer<typeof seedBackupSchema> {
  return {
    id: v.id,
    status: v.status,
    source_connection: v.source.connection,
    source_db: v.source.database,
    target: v.target,
    format: v.format,
    compression: v.compression,
    file_path: v.key,
    file_size: v.size,
    sha256: v.sha256,
    duration: v.durationMs === null ? null : Math.round(v.durationMs / 100) / 10,
    error_message: v.error,
    started_at: v.startedAt,
    finished_at: v.finishedAt,
    trigger: v.trigger,
    schedule: v.schedule,
    available: v.available,
    progress: v.progress,
    phase: v.phase,
    ...(v.tables ? { tables: v.tables } : {}),
  };
}
