// What users send to start physical backups and chain restores, parsed at the edge with messages
// that name the field. The workflows never import this file (zod stays out of the bundle).
import { z } from 'zod';
import { targetName } from '../../config/targets.ts';
import {
  backupCompressionSchema,
  backupIdSchema,
  cronSchema,
  retentionPolicySchema,
  scheduleNameSchema,
  timezoneSchema,
} from '../backup/schemas.ts';
import { databaseRefSchema } from '../copy/schemas.ts';
import { connectionName, databaseName } from '../../shared/names.ts';
import { callbackUrlSchema as callbackUrl, idempotencyKeySchema, runIdSchema } from '../runs/schemas.ts';

const idempotencyKey = idempotencyKeySchema.optional();

export const physicalKindSchema = z.enum(['physical-full', 'physical-incremental']);

/** The fields of a physical backup request (REST renames some and takes the connection from the path). */
export const physicalBackupFields = {
  kind: physicalKindSchema,
  connection: connectionName,
  target: targetName,
  compression: backupCompressionSchema.default('zstd'),
  /** mariabackup --parallel. */
  threads: z.number().int().min(1).max(64).default(4),
  /** The incremental's parent; default: the newest physical backup of the connection in the target. */
  parentId: backupIdSchema.optional(),
  callbackUrl,
  idempotencyKey,
};

/** The rule both spellings share (`parentId` in tRPC, `parent_id` over REST): a full has no parent. */
export const withParentRule = <S extends z.ZodObject>(schema: S, parentField: string): S =>
  schema.refine(
    (input) => {
      const fields = input as Record<string, unknown>;
      return fields.kind === 'physical-incremental' || fields[parentField] === undefined;
    },
    { message: 'only an incremental has a parent', path: [parentField] },
  );

/** `backups.trigger({ kind: 'physical-full' | 'physical-incremental', connection, target })`: a whole server. */
export const triggerPhysicalBackupInputSchema = withParentRule(z.object(physicalBackupFields).strict(), 'parentId');
export type TriggerPhysicalBackupInput = z.infer<typeof triggerPhysicalBackupInputSchema>;

const folderPath = z
  .string()
  .min(2)
  .max(4096)
  .refine((p) => p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\0'), 'must be an absolute path without ..');

/**
 * `restores.start({ chain: ID | { connection, before }, target, to })`: restore a chain of physical
 * backups into a folder (a prepared datadir) or one of its databases into a connection.
 */
export const startChainRestoreInputSchema = z
  .object({
    /** `{ backupId }`, or `{ connection, before }` for the newest piece of a connection started at or before a time. */
    chain: z
      .object({
        backupId: backupIdSchema.optional(),
        connection: connectionName.optional(),
        before: z.string().datetime({ offset: true, message: 'must be an ISO 8601 date-time' }).optional(),
      })
      .strict()
      .refine(
        (c) => (c.backupId !== undefined) !== (c.connection !== undefined && c.before !== undefined),
        'give backupId, or connection and before',
      )
      .refine(
        (c) => c.backupId === undefined || (c.connection === undefined && c.before === undefined),
        'give backupId alone, or connection and before',
      ),
    target: targetName,
    /** `{ folder }` (a prepared datadir at an absolute path), or `{ database, destination }` (one database copied into a connection). */
    to: z
      .object({
        folder: folderPath.optional(),
        database: databaseName.optional(),
        destination: databaseRefSchema.optional(),
        recreateDestination: z.boolean().optional(),
      })
      .strict()
      .refine(
        (t) => (t.folder !== undefined) !== (t.database !== undefined && t.destination !== undefined),
        'give folder, or database and destination',
      )
      .refine(
        (t) => t.folder === undefined || (t.database === undefined && t.destination === undefined && t.recreateDestination === undefined),
        'a folder delivery takes no database, destination or recreateDestination',
      ),
    threads: z.number().int().min(1).max(64).default(4),
    callbackUrl,
    idempotencyKey,
  })
  .strict();
export type StartChainRestoreInput = z.infer<typeof startChainRestoreInputSchema>;

/**
 * A tRPC input parser (a Standard Schema) that picks one of two schemas by a marker field
 * (`kind: 'physical-…'`, `chain`), so a logical request keeps its own field-naming errors rather
 * than a union's.
 */
export function eitherInput<P extends z.ZodType, L extends z.ZodType>(physical: P, logical: L, marker: 'kind' | 'chain') {
  const isPhysical = (raw: unknown): boolean => {
    if (typeof raw !== 'object' || raw === null || !(marker in raw)) return false;
    const value = (raw as Record<string, unknown>)[marker];
    return marker === 'chain' || (typeof value === 'string' && value.startsWith('physical-'));
  };
  type Input = z.input<P> | z.input<L>;
  type Output = z.output<P> | z.output<L>;
  return {
    '~standard': {
      version: 1 as const,
      vendor: 'dbferry',
      validate(
        raw: unknown,
      ): { value: Output; issues?: undefined } | { issues: Array<{ message: string; path: PropertyKey[]; code: string }> } {
        const parsed = (isPhysical(raw) ? physical : logical).safeParse(raw);
        if (parsed.success) return { value: parsed.data as Output };
        // An unknown field's issue keeps its keys, so the refusal names the field (errors.ts).
        const issues = parsed.error.issues.map((i) => ({
          message: i.message,
          path: i.path,
          code: i.code,
          ...('keys' in i && { keys: i.keys }),
        }));
        return { issues };
      },
      types: undefined as unknown as { input: Input; output: Output },
    },
  };
}

/**
 * A physical backup plan: fulls on one cron, incrementals on another (two Temporal Schedules),
 * with a retention policy that never deletes a piece a kept incremental depends on.
 */
export const createPhysicalPlanInputSchema = z
  .object({
    name: scheduleNameSchema,
    connection: connectionName,
    target: targetName,
    fullCron: cronSchema,
    incrementalCron: cronSchema,
    timezone: timezoneSchema.default('UTC'),
    compression: backupCompressionSchema.default('zstd'),
    threads: z.number().int().min(1).max(64).default(4),
    retention: retentionPolicySchema.nullable().default(null),
    paused: z.boolean().default(false),
  })
  .strict();
export type CreatePhysicalPlanInput = z.infer<typeof createPhysicalPlanInputSchema>;
export const physicalPlanRefSchema = z.object({ name: scheduleNameSchema }).strict();
export const chainRestoreRefSchema = z.object({ id: runIdSchema('run') }).strict();
