// Whether the API's dependencies answer: Temporal and the control schema (GET /healthz).
import type { ApiDeps } from './deps.ts';

export interface Health {
  ok: boolean;
  temporal: string;
  control: string;
}

export class HealthService {
  constructor(private readonly deps: ApiDeps) {}

  /** `ok` only when Temporal and the control schema both answer; otherwise what each said. */
  async check(): Promise<Health> {
    const { temporal, controlPool, config } = this.deps;
    const said = (e: Error) => `error: ${e.message}`;
    const [temporalSays, controlSays] = await Promise.all([
      temporal.workflowService.getSystemInfo({}).then(() => 'ok', said),
      controlPool.query(`SELECT 1 FROM \`${config.control.database}\`.schema_migrations LIMIT 1`).then(() => 'ok', said),
    ]);
    return { ok: temporalSays === 'ok' && controlSays === 'ok', temporal: temporalSays, control: controlSays };
  }
}
