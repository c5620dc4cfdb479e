// The backups router: on-demand logical and physical backups, the backup log (seed 001's
// backup_logs, built from the targets and Temporal), downloads and physical backup plans.
import { backupRefSchema, listBackupsInputSchema, triggerBackupInputSchema } from './schemas.ts';
import {
  createPhysicalPlanInputSchema,
  eitherInput,
  physicalKindSchema,
  physicalPlanRefSchema,
  triggerPhysicalBackupInputSchema,
} from '../physical/schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

export const backupsRouter = router({
  // `kind: 'physical-full' | 'physical-incremental'` starts a physical backup of a whole server instead.
  trigger: protectedProcedure
    .input(eitherInput(triggerPhysicalBackupInputSchema, triggerBackupInputSchema, 'kind'))
    .mutation(({ ctx, input }) => ('kind' in input ? ctx.physical.trigger(ctx.user, input) : ctx.backups.trigger(ctx.user, input))),
  list: protectedProcedure.input(listBackupsInputSchema).query(({ ctx, input }) => ctx.backups.list(ctx.user, input)),
  get: protectedProcedure.input(backupRefSchema).query(({ ctx, input }) => ctx.backups.get(ctx.user, input.id)),
  download: protectedProcedure.input(backupRefSchema).query(({ ctx, input }) => ctx.backups.download(ctx.user, input.id)),
  cancel: protectedProcedure.input(backupRefSchema).mutation(({ ctx, input }) => ctx.backups.cancel(ctx.user, input.id)),
  /** A physical backup run (state, LSNs, chain) by id. */
  getPhysical: protectedProcedure.input(backupRefSchema).query(({ ctx, input }) => ctx.physical.getBackup(ctx.user, input.id)),
  cancelPhysical: protectedProcedure.input(backupRefSchema).mutation(({ ctx, input }) => ctx.physical.cancelBackup(ctx.user, input.id)),
  /** Physical backup plans: a full on one cron, incrementals on another (two Temporal Schedules). */
  createPhysicalPlan: protectedProcedure
    .input(createPhysicalPlanInputSchema)
    .mutation(({ ctx, input }) => ctx.physicalPlans.create(ctx.user, input)),
  getPhysicalPlan: protectedProcedure.input(physicalPlanRefSchema).query(({ ctx, input }) => ctx.physicalPlans.get(ctx.user, input.name)),
  triggerPhysicalPlan: protectedProcedure
    .input(physicalPlanRefSchema.extend({ kind: physicalKindSchema }))
    .mutation(({ ctx, input }) => ctx.physicalPlans.trigger(ctx.user, input.name, input.kind)),
  deletePhysicalPlan: protectedProcedure
    .input(physicalPlanRefSchema)
    .mutation(({ ctx, input }) => ctx.physicalPlans.delete(ctx.user, input.name)),
});
