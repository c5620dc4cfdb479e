import { z } from 'zod';
import { backupIdSchema, listBackupsInputSchema, triggerBackupInputSchema } from '../../shared/backup-schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const backupRef = z.object({ id: backupIdSchema }).strict();

/** On-demand backups and the backup log (seed 001's backup_logs), built from the targets and Temporal. */
export const backupsRouter = router({
  trigger: protectedProcedure.input(triggerBackupInputSchema).mutation(({ ctx, input }) => ctx.backups.trigger(ctx.user, input)),
  list: protectedProcedure.input(listBackupsInputSchema).query(({ ctx, input }) => ctx.backups.list(ctx.user, input)),
  get: protectedProcedure.input(backupRef).query(({ ctx, input }) => ctx.backups.get(ctx.user, input.id)),
  download: protectedProcedure.input(backupRef).query(({ ctx, input }) => ctx.backups.download(ctx.user, input.id)),
  cancel: protectedProcedure.input(backupRef).mutation(({ ctx, input }) => ctx.backups.cancel(ctx.user, input.id)),
});
