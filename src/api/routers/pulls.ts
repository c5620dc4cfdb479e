import { z } from 'zod';
import { isFinalStatus } from '../../shared/copy.ts';
import { cleanupInputSchema, dryRunPullInputSchema, startPullInputSchema } from '../../shared/pull-schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';
import { pullServiceFor as pulls } from '../pull-service.ts';

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
  progress: protectedProcedure.input(pullId).subscription(async function* ({ ctx, input, signal }) {
    let last = '';
    while (!signal?.aborted) {
      const view = await pulls(ctx.deps).get(ctx.user, input.id);
      const key = `${view.status}|${view.phase}|${view.progress}`;
      if (key !== last) {
        last = key;
        yield view;
      }
      if (isFinalStatus(view.status)) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }),
});
