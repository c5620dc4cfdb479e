import { initTRPC, TRPCError } from '@trpc/server';
import type { AuthenticatedUser } from '../control/tokens.ts';
import type { ApiDeps } from './deps.ts';
import { ApiError } from './errors.ts';
import type { CopyService } from './copy/service.ts';
import type { BackupService } from './backup/service.ts';
import type { ScheduleService } from './backup/schedule-service.ts';
import type { RestoreService } from './backup/restore-service.ts';

/** The services every request may use (created once at start-up). */
export interface ApiServices {
  copies: CopyService;
  backups: BackupService;
  schedules: ScheduleService;
  restores: RestoreService;
}

export interface ApiContext extends ApiServices {
  deps: ApiDeps;
  user: AuthenticatedUser | null;
}

interface ValidationIssue {
  path?: ReadonlyArray<PropertyKey | { key: PropertyKey }>;
  message: string;
}

/** `field.path: message; …` for input validation errors, so every 400 names the bad field. */
export function describeIssues(issues: ReadonlyArray<ValidationIssue>): string {
  return issues
    .map((i) => {
      const path = (i.path ?? []).map((p) => (typeof p === 'object' ? String(p.key) : String(p))).join('.');
      return `${path || '(input)'}: ${i.message}`;
    })
    .join('; ');
}

const t = initTRPC.context<ApiContext>().create({
  errorFormatter({ shape, error }) {
    const issues = (error.cause as { issues?: ValidationIssue[] } | undefined)?.issues;
    if (error.code === 'BAD_REQUEST' && Array.isArray(issues)) {
      return { ...shape, message: describeIssues(issues), data: { ...shape.data, fields: issues.map((i) => (i.path ?? []).join('.')) } };
    }
    return shape;
  },
});

/** Maps the service layer's refusals onto tRPC codes, keeping the cause. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof ApiError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: cause.code, message: cause.message, cause });
  }
  return result;
});

export const router = t.router;
export const publicProcedure = t.procedure.use(mapErrors);

/** Every dbferry route: a valid bearer token or 401. */
export const protectedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: 'UNAUTHORIZED', message: 'a valid bearer token is required (Authorization: Bearer <token>)' });
  return next({ ctx: { ...ctx, user: ctx.user } });
});
