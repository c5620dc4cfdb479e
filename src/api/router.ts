// The root tRPC router: one router per domain, merged here.
import { router } from './trpc.ts';
import { backupsRouter } from './backup/router.ts';
import { copiesRouter } from './copy/router.ts';
import { restoresRouter } from './backup/restores-router.ts';
import { schedulesRouter } from './backup/schedules-router.ts';
import { pullsRouter } from './pull/router.ts';
import { accessRouter, auditRouter } from './access/router.ts';
import { grantsRouter, transfersRouter } from './grants/router.ts';

/** The whole tRPC API; other services import this type for a typed client (see src/client.ts). */
export const appRouter = router({
  copies: copiesRouter,
  backups: backupsRouter,
  schedules: schedulesRouter,
  restores: restoresRouter,
  pulls: pullsRouter,
  access: accessRouter,
  audit: auditRouter,
  grants: grantsRouter,
  transfers: transfersRouter,
});

export type AppRouter = typeof appRouter;
