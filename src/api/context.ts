// What every request sees: the services, created once at start-up on the API's deps, and the caller.
import type { AuthenticatedUser } from '../control/tokens.ts';
import type { ApiDeps } from './deps.ts';
import type { ProgressSubscriptions } from './limits/subscriptions.ts';
import { HealthService } from './health.ts';
import { CopyService } from './copy/service.ts';
import { BackupService } from './backup/service.ts';
import { ScheduleService } from './backup/schedule-service.ts';
import { RestoreService } from './backup/restore-service.ts';
import { PhysicalService } from './physical/service.ts';
import { PhysicalPlanService } from './physical/plans.ts';
import { PullService } from './pull/service.ts';
import { AccessService } from './access/service.ts';
import { GrantService } from './grants/service.ts';

/** The services every request may use; routers and REST routes reach them only through here. */
export interface ApiServices {
  health: HealthService;
  copies: CopyService;
  backups: BackupService;
  schedules: ScheduleService;
  restores: RestoreService;
  physical: PhysicalService;
  physicalPlans: PhysicalPlanService;
  pulls: PullService;
  access: AccessService;
  grants: GrantService;
}

/** The tRPC context: the services and the caller (null without a valid token). */
export interface ApiContext extends ApiServices {
  user: AuthenticatedUser | null;
  /** Each user's open progress subscriptions (the API server's; absent in-process: no cap). */
  progress?: ProgressSubscriptions;
}

/** One instance of each service for the API process. */
export function createServices(deps: ApiDeps): ApiServices {
  const backups = new BackupService(deps);
  return {
    health: new HealthService(deps),
    copies: new CopyService(deps),
    backups,
    schedules: new ScheduleService(deps),
    restores: new RestoreService(deps, backups),
    physical: new PhysicalService(deps),
    physicalPlans: new PhysicalPlanService(deps),
    pulls: new PullService(deps),
    access: new AccessService(deps),
    grants: new GrantService(deps),
  };
}
