// Whether the API's dependencies answer: Temporal and the control schema (GET /healthz).
import type { ApiDeps } from './deps.ts';

/** Each dependency's state: `ok`, or `unavailable` (the driver's words go to the log only). */
export type DependencyState = 'ok' | 'unavailable';

export interface Health {
  ok: boolean;
  temporal: DependencyState;
  control: DependencyState;
}

/** How long a dependency may take to answer the health check before it counts as unavailable. */
const HEALTH_TIMEOUT_MS = 3000;

/** `probe` within the timeout: 'ok', or 'unavailable' with the reason logged (never answered: it may hold driver details). */
async function stateOf(name: string, probe: () => Promise<unknown>): Promise<DependencyState> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${HEALTH_TIMEOUT_MS} ms`)), HEALTH_TIMEOUT_MS);
  });
  try {
    await Promise.race([probe(), timeout]);
    return 'ok';
  } catch (error) {
    console.error(`healthz: ${name} unavailable: ${(error as Error).message}`);
    return 'unavailable';
  } finally {
    clearTimeout(timer);
  }
}

export class HealthService {
  constructor(private readonly deps: ApiDeps) {}

  /** `ok` only when Temporal and the control schema both answer; otherwise which one does not. */
  async check(): Promise<Health> {
    const { temporal, controlPool, config } = this.deps;
    const [temporalState, controlState] = await Promise.all([
      stateOf('temporal', () => temporal.workflowService.getSystemInfo({})),
      stateOf('control schema', () => controlPool.query(`SELECT 1 FROM \`${config.control.database}\`.schema_migrations LIMIT 1`)),
    ]);
    return { ok: temporalState === 'ok' && controlState === 'ok', temporal: temporalState, control: controlState };
  }
}
