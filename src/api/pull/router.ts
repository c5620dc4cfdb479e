import { z } from 'zod';
import { cleanupInputSchema, dryRunPullInputSchema, startPullInputSchema } from './schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';
import { streamChanges } from '../progress-stream.ts';
import { pullServiceFor as pulls } from './service.ts';

const pullId = z.object({ id: z.string().uuid('must be a pull id (a UUID)') });

export const pullsRouter = router({
  start: protectedProcedure.input(startPullInputSchema).mutation(({ ctx, input }) => pulls(ctx.deps).start(ctx.user, input)),

  dryRun: protectedProcedure.input(dryRunPullInputSchema).query(({ ctx, input }) => pulls(ctx.deps).dryRun(ctx.user, input)),

  get: protectedProcedure.input(pullId).query(({ ctx, input }) => pulls(ctx.deps).get(ctx.user, input.id)),

  list: protectedProcedure
    .input(z.object({ limit: z.number().int().min(1).max(100).default(10), before: z.string().uuid().optional() }).default({ limit: 10 }))
    .query(({ ctx, input }) => pulls(ctx.deps).list(ctx.user, input.limit, input.before)),

  cancel: protectedProcedure.input(pullId).mutation(({ ctx, input }) => pulls(ctx.deps).cancel(ctx.user, input.id)),

  cleanup: protectedProcedure.input(cleanupInputSchema).mutation(({ ctx, input }) => pulls(ctx.deps).cleanup(ctx.user, input)),

  /** Streams the pull's state (SSE) whenever its status, phase or progress changes, ending after its final status. */
  progress: protectedProcedure
    .input(pullId)
    .subscription(({ ctx, input, signal }) => streamChanges(() => pulls(ctx.deps).get(ctx.user, input.id), signal)),
});
