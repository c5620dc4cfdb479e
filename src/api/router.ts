import { router } from './trpc.ts';
import { copiesRouter } from './routers/copies.ts';

/** The whole tRPC API; other services import this type for a typed client (see src/client.ts). */
export const appRouter = router({
  copies: copiesRouter,
});

export type AppRouter = typeof appRouter;
