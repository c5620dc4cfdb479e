import { z } from 'zod';
import { connectionName, databaseName } from '../../shared/names.ts';
import type { DatabaseRef } from '../../workflows/copy/contracts.ts';

/** A connection name and a database on it, as a request names them. */
export const databaseRefSchema = z.object({ connection: connectionName, database: databaseName }).strict() satisfies z.ZodType<DatabaseRef>;

/** What a user asks for when starting a copy (tRPC input; REST maps seed 000's snake_case onto it). */
export const startCopyInputSchema = z
  .object({
    source: databaseRefSchema,
    destination: databaseRefSchema,
    threads: z.number().int().min(1).max(64).default(4),
    recreateDestination: z.boolean().default(false),
    callbackUrl: z.string().max(2048, 'must be at most 2048 characters').url('must be an absolute http(s) URL').nullish(),
    idempotencyKey: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces')
      .optional(),
  })
  .strict();
export type StartCopyInput = z.infer<typeof startCopyInputSchema>;
