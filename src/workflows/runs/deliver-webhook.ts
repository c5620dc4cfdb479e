// The webhook delivery workflow: one signed POST, retried for about an hour, never failing the run.
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../activities/index.ts';
import type { WebhookDelivery } from './webhook-delivery.ts';
import { describeFailure } from './failures.ts';

// A receiver that is down gets retried for about an hour with exponential backoff, then given up.
const { deliverWebhook } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 12 },
});

/**
 * Delivers one signed webhook. It runs as its own workflow, abandoned by the run that started it,
 * so a receiver that is down never delays or fails the copy, nor holds its destination lock.
 */
export async function deliverWebhookWorkflow(delivery: WebhookDelivery): Promise<{ delivered: boolean; error: string | null }> {
  try {
    await deliverWebhook(delivery);
    return { delivered: true, error: null };
  } catch (error) {
    return { delivered: false, error: describeFailure(error) };
  }
}
