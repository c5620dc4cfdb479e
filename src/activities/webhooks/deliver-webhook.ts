// Webhook delivery: one signed POST to a receiver that must be public, unless the config allows private networks.
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns';
import { Agent, request } from 'undici';
import { ApplicationFailure } from '@temporalio/activity';
import { isPrivateAddress } from '../../shared/network.ts';
import {
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_EVENT_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookDelivery,
} from '../../workflows/runs/webhook-delivery.ts';
import type { ActivityDeps } from '../deps.ts';

/** Hex HMAC-SHA256 of the exact body: the `X-Signature` receivers verify. */
export function signBody(body: string, secret: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** An undici Agent that checks the address it actually connects to (no DNS-rebinding around the guard). */
function createWebhookAgent(allowPrivate: boolean, timeoutMs: number): Agent {
  return new Agent({
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect: {
      lookup(hostname, options, callback) {
        lookup(hostname, { ...options, all: false }, (err, address, family) => {
          if (err) return callback(err, address, family);
          if (!allowPrivate && isPrivateAddress(address)) {
            return callback(
              Object.assign(new Error(`callback host ${hostname} resolves to private address ${address}`), { code: 'EPRIVATE' }),
              address,
              family,
            );
          }
          callback(null, address, family);
        });
      },
    },
  });
}

export function createWebhookActivities(deps: Pick<ActivityDeps, 'config' | 'webhookSecret'>) {
  const agent = createWebhookAgent(deps.config.webhooks.allowPrivateNetworks, deps.config.webhooks.timeoutMs);
  return {
    /** POSTs one signed event; a non-2xx answer or a network error is retried with backoff. */
    async deliverWebhook(delivery: WebhookDelivery): Promise<{ status: number }> {
      if (!deps.webhookSecret)
        throw ApplicationFailure.nonRetryable('DBFERRY_WEBHOOK_SECRET is not set on the worker; webhook not sent', 'WebhookSecretMissing');
      const body = JSON.stringify(delivery.payload);
      let response;
      try {
        response = await request(delivery.url, {
          method: 'POST',
          dispatcher: agent,
          body,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'dbferry-webhooks/1',
            [WEBHOOK_SIGNATURE_HEADER]: signBody(body, deps.webhookSecret),
            [WEBHOOK_DELIVERY_HEADER]: delivery.deliveryId,
            [WEBHOOK_EVENT_HEADER]: delivery.event,
          },
        });
      } catch (error) {
        const code = (error as { code?: string; cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code;
        if (code === 'EPRIVATE') throw ApplicationFailure.nonRetryable((error as Error).message, 'CallbackForbidden');
        throw error;
      }
      await response.body.dump();
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw ApplicationFailure.retryable(`webhook receiver answered ${response.statusCode}`, 'WebhookRejected');
      }
      return { status: response.statusCode };
    },
  };
}
