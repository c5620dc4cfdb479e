// A sweep's Temporal Schedule, created once per API process: one that exists already is kept, and a
// failed attempt is tried again on the next call.
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';

export interface SweepSchedule {
  scheduleId: string;
  every: string;
  workflowType: string;
  workflowId: string;
  taskQueue: string;
  args: unknown[];
}

export class EnsuredSchedule {
  #ensured: Promise<void> | null = null;
  constructor(
    private readonly temporal: Client,
    private readonly schedule: SweepSchedule,
  ) {}

  ensure(): Promise<void> {
    const { scheduleId, every, workflowType, workflowId, taskQueue, args } = this.schedule;
    this.#ensured ??= this.temporal.schedule
      .create({
        scheduleId,
        spec: { intervals: [{ every: every as `${number} ${string}` }] },
        action: { type: 'startWorkflow', workflowType, taskQueue, workflowId, args },
        policies: { overlap: ScheduleOverlapPolicy.SKIP },
      })
      .then(
        () => undefined,
        (error: unknown) => {
          if (error instanceof ScheduleAlreadyRunning) return;
          this.#ensured = null;
          throw error;
        },
      );
    return this.#ensured;
  }
}
