// The grant expiry sweep, started by a Temporal Schedule every 5 minutes (src/api/grants/service.ts).
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';

const { expireGrants: expireDueGrants } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { maximumAttempts: 5, initialInterval: '5 seconds' },
});

/** Grants past their expiry date or limits become `expired`; returns which, and why. */
export async function expireGrants(): Promise<Array<{ name: string; reason: string }>> {
  return expireDueGrants();
}
