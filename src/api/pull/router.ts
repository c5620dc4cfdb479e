// The pulls router (seed 002): start, dry-run, read, list, cancel and follow sanitized pulls, and sweep orphans.
import { cleanupInputSchema, dryRunPullInputSchema, listPullsInputSchema, pullRefSchema, startPullInputSchema } from './schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';
import { streamChanges } from '../progress-stream.ts';

export const pullsRouter = router({
  start: protectedProcedure.input(startPullInputSchema).mutation(({ ctx, input }) => ctx.pulls.start(ctx.user, input)),
  dryRun: protectedProcedure.input(dryRunPullInputSchema).query(({ ctx, input }) => ctx.pulls.dryRun(ctx.user, input)),
  get: protectedProcedure.input(pullRefSchema).query(({ ctx, input }) => ctx.pulls.get(ctx.user, input.id)),
  list: protectedProcedure
    .input(listPullsInputSchema.default({ limit: 10 }))
    .query(({ ctx, input }) => ctx.pulls.list(ctx.user, input.limit, input.before)),
  cancel: protectedProcedure.input(pullRefSchema).mutation(({ ctx, input }) => ctx.pulls.cancel(ctx.user, input.id)),
  cleanup: protectedProcedure.input(cleanupInputSchema).mutation(({ ctx, input }) => ctx.pulls.cleanup(ctx.user, input)),
  /** Streams the pull's state (SSE) whenever its status, phase or progress changes, ending after its final status. */
  progress: protectedProcedure
    .input(pullRefSchema)
    .subscription(({ ctx, input, signal }) =>
      streamChanges(() => ctx.pulls.get(ctx.user, input.id), signal, ctx.progress?.open(ctx.user.id, signal)),
    ),
});
