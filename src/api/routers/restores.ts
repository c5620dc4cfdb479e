import { z } from 'zod';
import { startRestoreInputSchema } from '../../shared/backup-schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const restoreRef = z.object({ id: z.string().uuid('must be a restore id (a UUID)') }).strict();

/** Restores of logical backups into a database that allows writes; only the creator sees a restore. */
export const restoresRouter = router({
  start: protectedProcedure.input(startRestoreInputSchema).mutation(({ ctx, input }) => ctx.restores.start(ctx.user, input)),
  get: protectedProcedure.input(restoreRef).query(({ ctx, input }) => ctx.restores.get(ctx.user, input.id)),
  list: protectedProcedure
    .input(z.object({ limit: z.number().int().min(1).max(100).default(20) }).strict().default({ limit: 20 }))
    .query(({ ctx, input }) => ctx.restores.list(ctx.user, input.limit)),
  cancel: protectedProcedure.input(restoreRef).mutation(({ ctx, input }) => ctx.restores.cancel(ctx.user, input.id)),
});
