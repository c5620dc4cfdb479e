// What users send to the backup, schedule and restore APIs, parsed at the edge with messages that
// name the field. The workflows never import this file (zod stays out of the bundle).
import { z } from 'zod';
import { checkTimezone, parseCronExpression, ScheduleSpecError } from './cron.ts';
import { targetName } from '../../config/targets.ts';
import { databaseRefSchema } from '../copy/schemas.ts';
import type { RetentionPolicy } from '../../workflows/backup/contracts.ts';
import { callbackUrlSchema as callbackUrl, idempotencyKeySchema } from '../runs/schemas.ts';

const idempotencyKey = idempotencyKeySchema.optional();

export const backupFormatSchema = z.enum(['mysqldump', 'mydumper']);
export const backupCompressionSchema = z.enum(['gzip', 'zstd']);
export const backupStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled']);

/**
 * Backup ids: a UUID the API chooses for on-demand backups, the workflow's run id for scheduled
 * ones. Held to an alphabet that is safe in a URL path and an object key.
 */
export const backupIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be a backup id (letters, digits, _ and -)');

/** A schedule's name: part of its Temporal schedule id, so held to a strict alphabet. */
export const scheduleNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'may contain only letters, digits, _ and -, starting with a letter or digit');

const keepCount = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1 (leave it out to turn the rule off)')
  .max(10_000, 'must be at most 10000');

/** keep-last-N plus daily/weekly/monthly (UTC); at least one rule, or no policy at all. */
export const retentionPolicySchema = z
  .object({
    keepLast: keepCount.optional(),
    keepDaily: keepCount.optional(),
    keepWeekly: keepCount.optional(),
    keepMonthly: keepCount.optional(),
  })
  .strict()
  .refine(
    (p) => Object.values(p).some((v) => v !== undefined),
    'give at least one of keepLast, keepDaily, keepWeekly, keepMonthly, or leave retention out',
  ) satisfies z.ZodType<RetentionPolicy>;

/** A cron expression as parseCronExpression accepts it; the issue names the cron field at fault. */
export const cronSchema = z.string().superRefine((value, ctx) => {
  try {
    parseCronExpression(value, 'cron');
  } catch (error) {
    if (!(error instanceof ScheduleSpecError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message.replace(/^cron: /, '') });
  }
});

export const timezoneSchema = z.string().superRefine((value, ctx) => {
  try {
    checkTimezone(value, 'timezone');
  } catch (error) {
    if (!(error instanceof ScheduleSpecError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message.replace(/^timezone: /, '') });
  }
});

/** An on-demand backup: `backups.trigger` and seed 001's `POST /api/v1/backups/trigger/{source}`. */
export const triggerBackupInputSchema = z
  .object({
    source: databaseRefSchema,
    target: targetName,
    format: backupFormatSchema.default('mysqldump'),
    compression: backupCompressionSchema.default('gzip'),
    threads: z.number().int().min(1).max(64).default(4),
    callbackUrl,
    idempotencyKey,
  })
  .strict();
export type TriggerBackupInput = z.infer<typeof triggerBackupInputSchema>;

const isoDateTime = z.string().datetime({ offset: true, message: 'must be an ISO 8601 date-time, e.g. 2026-01-31T00:00:00Z' });

/** The backup log's filters and page. */
export const listBackupsFilterSchema = z
  .object({
    source: z
      .object({ connection: databaseRefSchema.shape.connection, database: databaseRefSchema.shape.database.optional() })
      .strict()
      .optional(),
    target: targetName.optional(),
    status: backupStatusSchema.optional(),
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
    limit: z.number().int().min(1).max(200).default(50),
    cursor: z
      .string()
      .max(300)
      .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned by a previous page')
      .optional(),
  })
  .strict();
export const listBackupsInputSchema = listBackupsFilterSchema.default({ limit: 50 });
export type ListBackupsInput = z.infer<typeof listBackupsInputSchema>;

const overlapSchema = z.enum(['skip', 'bufferOne']);

const scheduleFields = {
  target: targetName,
  format: backupFormatSchema,
  compression: backupCompressionSchema,
  threads: z.number().int().min(1).max(64),
  retention: retentionPolicySchema.nullable(),
  cron: cronSchema,
  timezone: timezoneSchema,
  overlap: overlapSchema,
  callbackUrl,
};

export const createScheduleInputSchema = z
  .object({
    name: scheduleNameSchema,
    source: databaseRefSchema,
    ...scheduleFields,
    format: scheduleFields.format.default('mysqldump'),
    compression: scheduleFields.compression.default('gzip'),
    threads: scheduleFields.threads.default(4),
    retention: scheduleFields.retention.default(null),
    timezone: scheduleFields.timezone.default('UTC'),
    overlap: scheduleFields.overlap.default('skip'),
    paused: z.boolean().default(false),
  })
  .strict();
export type CreateScheduleInput = z.infer<typeof createScheduleInputSchema>;

/** Changes to a schedule; the source stays (a schedule's retention covers one database). */
export const updateScheduleInputSchema = z
  .object({
    name: scheduleNameSchema,
    target: scheduleFields.target.optional(),
    format: scheduleFields.format.optional(),
    compression: scheduleFields.compression.optional(),
    threads: scheduleFields.threads.optional(),
    retention: scheduleFields.retention.optional(),
    cron: scheduleFields.cron.optional(),
    timezone: scheduleFields.timezone.optional(),
    overlap: scheduleFields.overlap.optional(),
    callbackUrl,
  })
  .strict();
export type UpdateScheduleInput = z.infer<typeof updateScheduleInputSchema>;

export const scheduleRefSchema = z.object({ name: scheduleNameSchema }).strict();
export const scheduleNoteSchema = scheduleRefSchema.extend({ note: z.string().max(500, 'must be at most 500 characters').optional() });
export const backupRefSchema = z.object({ id: backupIdSchema }).strict();

export const startRestoreInputSchema = z
  .object({
    backupId: backupIdSchema,
    destination: databaseRefSchema,
    /** Drop and recreate a destination that already has tables (the CLI's --force). */
    recreateDestination: z.boolean().default(false),
    /** myloader threads, for mydumper backups. */
    threads: z.number().int().min(1).max(64).default(4),
    callbackUrl,
    idempotencyKey,
  })
  .strict();
export type StartRestoreInput = z.infer<typeof startRestoreInputSchema>;
