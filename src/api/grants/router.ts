// The grants and transfers routers (admins only, by their domains): pull grants, their lifecycle and
// stats, and the transfers served or received on them.
import { protectedProcedure, router } from '../trpc.ts';
import {
  createGrantInputSchema,
  grantDecisionSchema,
  grantReasonSchema,
  grantRefSchema,
  grantStatsInputSchema,
  listGrantsInputSchema,
  listTransfersInputSchema,
  transferApproveSchema,
  transferDenySchema,
  updateGrantInputSchema,
} from './schemas.ts';

export const grantsRouter = router({
  /** Creates a pending grant; the answer holds its token, shown this once. */
  create: protectedProcedure.input(createGrantInputSchema).mutation(({ ctx, input }) => ctx.grants.create(ctx.user, input)),
  list: protectedProcedure.input(listGrantsInputSchema).query(({ ctx, input }) => ctx.grants.list(ctx.user, input)),
  get: protectedProcedure.input(grantRefSchema).query(({ ctx, input }) => ctx.grants.get(ctx.user, input.name)),
  update: protectedProcedure.input(updateGrantInputSchema).mutation(({ ctx, input }) => ctx.grants.update(ctx.user, input)),
  approve: protectedProcedure
    .input(grantDecisionSchema)
    .mutation(({ ctx, input }) => ctx.grants.transition(ctx.user, 'approve', input.name, input.reason)),
  suspend: protectedProcedure
    .input(grantReasonSchema)
    .mutation(({ ctx, input }) => ctx.grants.transition(ctx.user, 'suspend', input.name, input.reason)),
  reactivate: protectedProcedure
    .input(grantDecisionSchema)
    .mutation(({ ctx, input }) => ctx.grants.transition(ctx.user, 'reactivate', input.name, input.reason)),
  revoke: protectedProcedure
    .input(grantReasonSchema)
    .mutation(({ ctx, input }) => ctx.grants.transition(ctx.user, 'revoke', input.name, input.reason)),
  regenerateToken: protectedProcedure.input(grantRefSchema).mutation(({ ctx, input }) => ctx.grants.regenerateToken(ctx.user, input.name)),
  delete: protectedProcedure.input(grantRefSchema).mutation(({ ctx, input }) => ctx.grants.delete(ctx.user, input.name)),
  stats: protectedProcedure.input(grantStatsInputSchema).query(({ ctx, input }) => ctx.grants.stats(ctx.user, input.name)),
});

export const transfersRouter = router({
  list: protectedProcedure.input(listTransfersInputSchema).query(({ ctx, input }) => ctx.grants.listTransfers(ctx.user, input)),
  approve: protectedProcedure
    .input(transferApproveSchema)
    .mutation(({ ctx, input }) => ctx.grants.decideTransfer(ctx.user, input.id, 'approved', input.reason)),
  deny: protectedProcedure
    .input(transferDenySchema)
    .mutation(({ ctx, input }) => ctx.grants.decideTransfer(ctx.user, input.id, 'denied', input.reason)),
});
