import { z } from 'zod';
import { identifierName } from '../../shared/names.ts';
import { pullProfileName } from '../../config/pull-profiles.ts';

/** What a user asks for when starting a pull (seed 002's backfill:pull options). */
export const startPullInputSchema = z
  .object({
    profile: pullProfileName,
    /** Pull every table whole, ignoring watermarks (`--full`). */
    full: z.boolean().default(false),
    /** Only these tables (`--tables a,b`). */
    tables: z.array(identifierName).min(1).max(10_000).nullish(),
    callbackUrl: z.string().max(2048, 'must be at most 2048 characters').url('must be an absolute http(s) URL').nullish(),
    idempotencyKey: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional(),
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
