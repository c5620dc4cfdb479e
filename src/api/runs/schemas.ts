// The request fields every run start shares (a webhook URL, an idempotency key) and run ids, one
// definition each, for the tRPC inputs and the REST bodies and headers built from them.
import { z } from 'zod';

/** Where the run's signed webhook goes; checked again (public host, http(s)) before the run starts. */
export const callbackUrlSchema = z.string().max(2048, 'must be at most 2048 characters').url('must be an absolute http(s) URL').nullish();

/** Starting twice with the same key (same user, same kind) is the same run. */
export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** The REST routes take the key in a header, as the seeds do. */
export const idempotencyHeadersSchema = z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() });

/** A run id the API chose (a UUID), named in the message: `must be a copy id (a UUID)`. */
export const runIdSchema = (noun: string) => z.string().uuid(`must be a ${noun} id (a UUID)`);
