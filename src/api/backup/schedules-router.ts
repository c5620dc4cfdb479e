// The schedules router: backup schedules (Temporal Schedules), each visible to and changeable by its creator only.
import { createScheduleInputSchema, scheduleNoteSchema, scheduleRefSchema, updateScheduleInputSchema } from './schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

export const schedulesRouter = router({
  create: protectedProcedure.input(createScheduleInputSchema).mutation(({ ctx, input }) => ctx.schedules.create(ctx.user, input)),
  list: protectedProcedure.query(({ ctx }) => ctx.schedules.list(ctx.user)),
  get: protectedProcedure.input(scheduleRefSchema).query(({ ctx, input }) => ctx.schedules.get(ctx.user, input.name)),
  update: protectedProcedure.input(updateScheduleInputSchema).mutation(({ ctx, input }) => ctx.schedules.update(ctx.user, input)),
  pause: protectedProcedure.input(scheduleNoteSchema).mutation(({ ctx, input }) => ctx.schedules.pause(ctx.user, input.name, input.note)),
  resume: protectedProcedure.input(scheduleNoteSchema).mutation(({ ctx, input }) => ctx.schedules.resume(ctx.user, input.name, input.note)),
  trigger: protectedProcedure.input(scheduleRefSchema).mutation(({ ctx, input }) => ctx.schedules.trigger(ctx.user, input.name)),
  delete: protectedProcedure.input(scheduleRefSchema).mutation(({ ctx, input }) => ctx.schedules.delete(ctx.user, input.name)),
});
