// The restores router: restores of logical backups and of physical chains, into a database that
// allows writes (or a folder); only the creator sees a restore.
import { z } from 'zod';
import { startRestoreInputSchema } from './schemas.ts';
import { eitherInput, startChainRestoreInputSchema } from '../physical/schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const restoreRef = z.object({ id: z.string().uuid('must be a restore id (a UUID)') }).strict();
const listRestores = z
  .object({ limit: z.number().int().min(1).max(100).default(20) })
  .strict()
  .default({ limit: 20 });

export const restoresRouter = router({
  // `{ chain, target, to }` restores a chain of physical backups (restoreChain) instead of a logical backup.
  start: protectedProcedure
    .input(eitherInput(startChainRestoreInputSchema, startRestoreInputSchema, 'chain'))
    .mutation(({ ctx, input }) => ('chain' in input ? ctx.physical.startChain(ctx.user, input) : ctx.restores.start(ctx.user, input))),
  get: protectedProcedure
    .input(restoreRef)
    .query(async ({ ctx, input }) => (await ctx.physical.findChain(ctx.user, input.id)) ?? ctx.restores.get(ctx.user, input.id)),
  list: protectedProcedure.input(listRestores).query(async ({ ctx, input }) => {
    const [logical, chains] = await Promise.all([ctx.restores.list(ctx.user, input.limit), ctx.physical.listChains(ctx.user, input.limit)]);
    return [...logical, ...chains].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, input.limit);
  }),
  cancel: protectedProcedure
    .input(restoreRef)
    .mutation(async ({ ctx, input }) => (await ctx.physical.cancelChain(ctx.user, input.id)) ?? ctx.restores.cancel(ctx.user, input.id)),
});
