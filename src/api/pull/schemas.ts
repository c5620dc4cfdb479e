// What users send to the pull API (seed 002's backfill:pull options), parsed at the edge.
import { z } from 'zod';
import { identifierName } from '../../shared/names.ts';
import { pullProfileName } from '../../config/pull-profiles.ts';
import { callbackUrlSchema, idempotencyKeySchema, runIdSchema } from '../runs/schemas.ts';

/** What a user asks for when starting a pull. */
export const startPullInputSchema = z
  .object({
    profile: pullProfileName,
    /** Pull every table whole, ignoring watermarks (`--full`). */
    full: z.boolean().default(false),
    /** Only these tables (`--tables a,b`). */
    tables: z.array(identifierName).min(1).max(10_000).nullish(),
    callbackUrl: callbackUrlSchema,
    idempotencyKey: idempotencyKeySchema.optional(),
  })
  .strict();
export type StartPullInput = z.infer<typeof startPullInputSchema>;

/** `--dry-run`: the same choice of profile and tables, nothing started. */
export const dryRunPullInputSchema = startPullInputSchema.pick({ profile: true, full: true, tables: true }).strict();
export type DryRunPullInput = z.infer<typeof dryRunPullInputSchema>;

/** The orphan sweep's knobs (`dbferry cleanup --max-age 60`). */
export const cleanupInputSchema = z
  .object({ maxAgeMinutes: z.number().int().min(1).max(525_600).default(60), dryRun: z.boolean().default(false) })
  .strict();

export const pullRefSchema = z.object({ id: runIdSchema('pull') }).strict();

/** The seed's backfill:status page: newest first, `before` the last id of the previous page. */
export const listPullsInputSchema = z
  .object({
    limit: z.number().int().min(1).max(100).default(10),
    before: z.string().uuid('must be a pull id (a UUID)').optional(),
  })
  .strict();
