// Webhooks as abandoned child workflows, so a receiver that is down never delays or fails a run.
import { ParentClosePolicy, startChild } from '@temporalio/workflow';
import type { WebhookDelivery } from './webhook-delivery.ts';
import { deliverWebhookWorkflow } from './deliver-webhook.ts';

/** Starts an abandoned delivery workflow for one event; the id makes each delivery happen once. */
export async function sendWebhook(url: string | null, runId: string, event: string, payload: Record<string, unknown>): Promise<void> {
  if (!url) return;
  const deliveryId = `${runId}:${event}`;
  const delivery: WebhookDelivery = { deliveryId, event, url, payload };
  await startChild(deliverWebhookWorkflow, {
    workflowId: `webhook:${deliveryId}`,
    args: [delivery],
    parentClosePolicy: ParentClosePolicy.ABANDON,
  });
}
