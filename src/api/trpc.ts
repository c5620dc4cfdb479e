// The tRPC base: context, the error mapping and the two procedure kinds every router builds on.
import { initTRPC, TRPCError } from '@trpc/server';
import type { ApiContext } from './context.ts';
import { procedureScope, refuseScope } from '../control/policy.ts';
import { ApiError, describeIssues, pathOf, type ValidationIssue } from './errors.ts';
import { asReported } from './limits/unavailable.ts';

export type { ApiContext, ApiServices } from './context.ts';
export { describeIssues } from './errors.ts';

const issuesOf = (cause: unknown): ValidationIssue[] | null => {
  const issues = (cause as { issues?: unknown } | undefined)?.issues;
  return Array.isArray(issues) ? (issues as ValidationIssue[]) : null;
};

const t = initTRPC.context<ApiContext>().create({
  errorFormatter({ shape, error }) {
    const issues = issuesOf(error.cause);
    return error.code === 'BAD_REQUEST' && issues ? { ...shape, data: { ...shape.data, fields: issues.map(pathOf) } } : shape;
  },
});

/** Maps the service layer's refusals onto tRPC codes and names the fields of invalid input, keeping the cause. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (result.ok) return result;
  // A dependency that does not answer (control schema, Temporal) is a 503, never the driver's words.
  const cause = asReported(result.error.cause);
  if (cause instanceof ApiError) throw new TRPCError({ code: cause.code, message: cause.message, cause });
  const issues = issuesOf(cause);
  if (result.error.code === 'BAD_REQUEST' && issues) throw new TRPCError({ code: 'BAD_REQUEST', message: describeIssues(issues), cause });
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(mapErrors);

/** Every dbferry procedure: a valid bearer token or 401. */
export const protectedProcedure = publicProcedure
  .use(({ ctx, next }) => {
    if (!ctx.user)
      throw new TRPCError({ code: 'UNAUTHORIZED', message: 'a valid bearer token is required (Authorization: Bearer <token>)' });
    return next({ ctx: { ...ctx, user: ctx.user } });
  })
  .use(({ ctx, path, type, next }) => {
    // The caller's role and the token's scopes: the procedure's domain, read for queries, write for mutations.
    const scope = procedureScope(path, type);
    const refused = scope ? refuseScope(ctx.user, scope, path) : null;
    if (refused) throw new TRPCError({ code: 'FORBIDDEN', message: refused });
    return next();
  });
