import { z } from 'zod';
import { backupIdSchema, listBackupsInputSchema, triggerBackupInputSchema } from './schemas.ts';
import {
  createPhysicalPlanInputSchema,
  eitherInput,
  physicalKindSchema,
  physicalPlanRefSchema,
  triggerPhysicalBackupInputSchema,
} from '../physical/schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const backupRef = z.object({ id: backupIdSchema }).strict();

/** On-demand backups and the backup log (seed 001's backup_logs), built from the targets and Temporal. */
export const backupsRouter = router({
  // `kind: 'physical-full' | 'physical-incremental'` starts a physical backup of a whole server instead.
  trigger: protectedProcedure
    .input(eitherInput(triggerPhysicalBackupInputSchema, triggerBackupInputSchema, 'kind'))
    .mutation(({ ctx, input }) => ('kind' in input ? ctx.backups.physical.trigger(ctx.user, input) : ctx.backups.trigger(ctx.user, input))),
  list: protectedProcedure.input(listBackupsInputSchema).query(({ ctx, input }) => ctx.backups.list(ctx.user, input)),
  get: protectedProcedure.input(backupRef).query(({ ctx, input }) => ctx.backups.get(ctx.user, input.id)),
  /** A physical backup run (state, LSNs, chain) by id. */
  getPhysical: protectedProcedure.input(backupRef).query(({ ctx, input }) => ctx.backups.physical.getBackup(ctx.user, input.id)),
  cancelPhysical: protectedProcedure.input(backupRef).mutation(({ ctx, input }) => ctx.backups.physical.cancelBackup(ctx.user, input.id)),
  /** Physical backup plans: a full on one cron, incrementals on another (two Temporal Schedules). */
  createPhysicalPlan: protectedProcedure
    .input(createPhysicalPlanInputSchema)
    .mutation(({ ctx, input }) => ctx.backups.physical.plans.create(ctx.user, input)),
  getPhysicalPlan: protectedProcedure
    .input(physicalPlanRefSchema)
    .query(({ ctx, input }) => ctx.backups.physical.plans.get(ctx.user, input.name)),
  triggerPhysicalPlan: protectedProcedure
    .input(physicalPlanRefSchema.extend({ kind: physicalKindSchema }))
    .mutation(({ ctx, input }) => ctx.backups.physical.plans.trigger(ctx.user, input.name, input.kind)),
  deletePhysicalPlan: protectedProcedure
    .input(physicalPlanRefSchema)
    .mutation(({ ctx, input }) => ctx.backups.physical.plans.delete(ctx.user, input.name)),
  download: protectedProcedure.input(backupRef).query(({ ctx, input }) => ctx.backups.download(ctx.user, input.id)),
  cancel: protectedProcedure.input(backupRef).mutation(({ ctx, input }) => ctx.backups.cancel(ctx.user, input.id)),
});
