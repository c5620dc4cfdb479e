import { router } from './trpc.ts';
import { backupsRouter } from './routers/backups.ts';
import { copiesRouter } from './routers/copies.ts';
import { restoresRouter } from './routers/restores.ts';
import { schedulesRouter } from './routers/schedules.ts';
import { pullsRouter } from './routers/pulls.ts';

/** The whole tRPC API; other services import this type for a typed client (see src/client.ts). */
export const appRouter = router({
  copies: copiesRouter,
  backups: backupsRouter,
  schedules: schedulesRouter,
  restores: restoresRouter,
  pulls: pullsRouter,
});

export type AppRouter = typeof appRouter;
