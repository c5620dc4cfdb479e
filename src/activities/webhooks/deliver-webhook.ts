// Webhook delivery: one signed POST to a receiver that must be public, unless the config allows private networks.
import { createHmac } from 'node:crypto';
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { Agent, buildConnector, request } from 'undici';
import { ApplicationFailure } from '@temporalio/activity';
import { bareHost, isPrivateAddress } from '../../shared/network.ts';
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

function privateHostError(message: string): Error {
  return Object.assign(new Error(message), { code: 'EPRIVATE' });
}

/** The refusal for a URL whose host is a private IP literal, or undefined (names are checked at connect time). */
function literalHostRefusal(url: string, allowPrivate: boolean): Error | undefined {
  if (allowPrivate) return undefined;
  let host: string;
  try {
    host = bareHost(new URL(url).hostname);
  } catch {
    return undefined; // undici reports the malformed URL itself
  }
  if (isIP(host) && isPrivateAddress(host)) return privateHostError(`callback host ${host} is a private address`);
  return undefined;
}

/**
 * An undici Agent that checks the address it actually connects to (no DNS-rebinding around the guard):
 * names through the DNS lookup hook, and IP literals (which never go through a lookup) before connecting.
 */
function createWebhookAgent(allowPrivate: boolean, timeoutMs: number): Agent {
  const connector = buildConnector({
    timeout: timeoutMs,
    lookup(hostname, options, callback) {
      lookup(hostname, { ...options, all: false }, (err, address, family) => {
        if (err) return callback(err, address, family);
        if (!allowPrivate && isPrivateAddress(address)) {
          return callback(privateHostError(`callback host ${hostname} resolves to private address ${address}`), address, family);
        }
        callback(null, address, family);
      });
    },
  });
  return new Agent({
    connectTimeout: timeoutMs,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    connect(options, callback) {
      const host = bareHost(options.hostname);
      if (!allowPrivate && isIP(host) && isPrivateAddress(host)) {
        return callback(privateHostError(`callback host ${host} is a private address`), null);
      }
      return connector(options, callback);
    },
  });
}

export function createWebhookActivities(deps: Pick<ActivityDeps, 'config' | 'webhookSecret'>) {
  const allowPrivate = deps.config.webhooks.allowPrivateNetworks;
  const agent = createWebhookAgent(allowPrivate, deps.config.webhooks.timeoutMs);
  return {
    /** POSTs one signed event; a non-2xx answer or a network error is retried with backoff. */
    async deliverWebhook(delivery: WebhookDelivery): Promise<{ status: number }> {
      if (!deps.webhookSecret)
        throw ApplicationFailure.nonRetryable('DBFERRY_WEBHOOK_SECRET is not set on the worker; webhook not sent', 'WebhookSecretMissing');
      const refusal = literalHostRefusal(delivery.url, allowPrivate);
      if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, 'CallbackForbidden');
      const body = JSON.stringify(delivery.payload);
      let response;
      try {
        // undici's request() never follows redirects (v7 has no maxRedirections; following needs the
        // redirect interceptor, which this dispatcher does not use): a 3xx is an answer, not a hop
        // that could lead to a private address.
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
      if (response.statusCode >= 300 && response.statusCode < 400) {
        throw ApplicationFailure.retryable(
          `webhook receiver answered ${response.statusCode}; redirects are not followed`,
          'WebhookRejected',
        );
      }
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw ApplicationFailure.retryable(`webhook receiver answered ${response.statusCode}`, 'WebhookRejected');
      }
      return { status: response.statusCode };
    },
  };
}
