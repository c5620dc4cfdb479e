import { z } from 'zod';
import { startCopyInputSchema } from './schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';
import { streamChanges } from '../progress-stream.ts';

const copyId = z.object({ id: z.string().uuid('must be a copy id (a UUID)') });

export const copiesRouter = router({
  start: protectedProcedure.input(startCopyInputSchema).mutation(({ ctx, input }) => ctx.copies.start(ctx.user, input)),

  get: protectedProcedure.input(copyId).query(({ ctx, input }) => ctx.copies.get(ctx.user, input.id)),

  list: protectedProcedure
    .input(z.object({ limit: z.number().int().min(1).max(100).default(20), before: z.string().uuid().optional() }).default({ limit: 20 }))
    .query(({ ctx, input }) => ctx.copies.list(ctx.user, input.limit, input.before)),

  cancel: protectedProcedure.input(copyId).mutation(({ ctx, input }) => ctx.copies.cancel(ctx.user, input.id)),

  /** Streams the copy's state whenever it changes, ending after its final status. */
  progress: protectedProcedure
    .input(copyId)
    .subscription(({ ctx, input, signal }) => streamChanges(() => ctx.copies.get(ctx.user, input.id), signal)),
});
