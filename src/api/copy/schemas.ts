// What users send to the copy API (seed 000), parsed at the edge with messages that name the field.
import { z } from 'zod';
import { connectionName, databaseName } from '../../shared/names.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';
import { callbackUrlSchema, idempotencyKeySchema, runIdSchema } from '../runs/schemas.ts';

/** A connection name and a database on it, as a request names them. */
export const databaseRefSchema = z.object({ connection: connectionName, database: databaseName }).strict() satisfies z.ZodType<DatabaseRef>;

/** What a user asks for when starting a copy (tRPC input; REST spells seed 000's `callback_url`). */
export const startCopyInputSchema = z
  .object({
    source: databaseRefSchema,
    destination: databaseRefSchema,
    threads: z.number().int().min(1).max(64).default(4),
    recreateDestination: z.boolean().default(false),
    callbackUrl: callbackUrlSchema,
    idempotencyKey: idempotencyKeySchema.optional(),
  })
  .strict();
export type StartCopyInput = z.infer<typeof startCopyInputSchema>;

export const copyRefSchema = z.object({ id: runIdSchema('copy') }).strict();

export const listCopiesInputSchema = z
  .object({ limit: z.number().int().min(1).max(100).default(20), before: z.string().uuid().optional() })
  .strict()
  .default({ limit: 20 });
