// The copies router (seed 000 through tRPC): start, read, list, cancel and follow copies.
import { copyRefSchema, listCopiesInputSchema, startCopyInputSchema } from './schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';
import { streamChanges } from '../progress-stream.ts';

export const copiesRouter = router({
  start: protectedProcedure.input(startCopyInputSchema).mutation(({ ctx, input }) => ctx.copies.start(ctx.user, input)),
  get: protectedProcedure.input(copyRefSchema).query(({ ctx, input }) => ctx.copies.get(ctx.user, input.id)),
  list: protectedProcedure.input(listCopiesInputSchema).query(({ ctx, input }) => ctx.copies.list(ctx.user, input.limit, input.before)),
  cancel: protectedProcedure.input(copyRefSchema).mutation(({ ctx, input }) => ctx.copies.cancel(ctx.user, input.id)),
  /** Streams the copy's state whenever it changes, ending after its final status. */
  progress: protectedProcedure
    .input(copyRefSchema)
    .subscription(({ ctx, input, signal }) =>
      streamChanges(() => ctx.copies.get(ctx.user, input.id), signal, ctx.progress?.open(ctx.user.id, signal)),
    ),
});
