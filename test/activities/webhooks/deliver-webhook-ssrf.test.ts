// The worker's delivery never reaches a loopback receiver through a disguised URL, and never follows a redirect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/activity';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createWebhookActivities } from '../../../src/activities/webhooks/deliver-webhook.ts';
import type { DbferryConfig } from '../../../src/config/schema.ts';

interface Receiver {
  server: Server;
  port: number;
  hits: string[];
  answer: (res: ServerResponse) => void;
}

async function listen(host: string): Promise<Receiver | undefined> {
  const receiver: Receiver = { server: createServer(), port: 0, hits: [], answer: (res) => res.writeHead(204).end() };
  receiver.server.on('request', (req, res) => {
    receiver.hits.push(`${req.method} ${req.url}`);
    req.resume();
    receiver.answer(res);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      receiver.server.once('error', reject);
      receiver.server.listen(0, host, () => resolve());
    });
  } catch {
    return undefined; // no IPv6 loopback here
  }
  receiver.port = (receiver.server.address() as AddressInfo).port;
  return receiver;
}

function activities(allowPrivateNetworks: boolean) {
  const config = { webhooks: { allowPrivateNetworks, timeoutMs: 2_000 } } as DbferryConfig;
  return createWebhookActivities({ config, webhookSecret: 'secret' });
}

async function deliver(allowPrivateNetworks: boolean, url: string): Promise<unknown> {
  const { deliverWebhook } = activities(allowPrivateNetworks);
  const env = new MockActivityEnvironment();
  return env.run(deliverWebhook, { deliveryId: 'd-1', event: 'run.finished', url, payload: { id: 'x' } }).then(
    (result) => result,
    (error: unknown) => error,
  );
}

let v4: Receiver;
let v6: Receiver | undefined;

beforeAll(async () => {
  v4 = (await listen('127.0.0.1'))!;
  v6 = await listen('::1');
});
afterAll(async () => {
  for (const r of [v4, v6]) if (r) await new Promise((resolve) => r.server.close(resolve));
});

const v4Urls = (port: number) => [
  `http://127.0.0.1:${port}/`,
  `http://[::ffff:127.0.0.1]:${port}/`,
  `http://[::ffff:7f00:1]:${port}/`,
  `http://[0:0:0:0:0:ffff:7f00:1]:${port}/`,
  `http://[::127.0.0.1]:${port}/`,
  `http://[::ffff:169.254.169.254]:${port}/`,
  `http://[64:ff9b::7f00:1]:${port}/`,
  `http://[2002:7f00:1::1]:${port}/`,
  `http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]:${port}/`,
  `http://2130706433:${port}/`,
  `http://0x7f.1:${port}/`,
  `http://localhost:${port}/`,
];
const v6Urls = (port: number) => [`http://[::1]:${port}/`, `http://[0:0:0:0:0:0:0:1]:${port}/`, `http://localhost:${port}/`];

describe('webhook delivery with allowPrivateNetworks false', () => {
  it('refuses every disguised loopback URL without sending a request', async () => {
    const urls = [...v4Urls(v4.port), ...(v6 ? v6Urls(v6.port) : [])];
    for (const url of urls) {
      const error = await deliver(false, url);
      expect(error, url).toBeInstanceOf(ApplicationFailure);
      expect((error as ApplicationFailure).type, url).toBe('CallbackForbidden');
      expect((error as ApplicationFailure).nonRetryable, url).toBe(true);
    }
    expect(v4.hits).toEqual([]);
    expect(v6?.hits ?? []).toEqual([]);
  });
});

describe('webhook delivery with allowPrivateNetworks true', () => {
  it('reaches the receiver through the same disguises (so the refusals above are real)', async () => {
    v4.hits.length = 0;
    for (const url of [`http://127.0.0.1:${v4.port}/a`, `http://[::ffff:127.0.0.1]:${v4.port}/b`, `http://[::ffff:7f00:1]:${v4.port}/c`]) {
      expect(await deliver(true, url), url).toEqual({ status: 204 });
    }
    expect(v4.hits).toEqual(['POST /a', 'POST /b', 'POST /c']);
    if (v6) {
      expect(await deliver(true, `http://[::1]:${v6.port}/d`)).toEqual({ status: 204 });
      expect(v6.hits).toEqual(['POST /d']);
      v6.hits.length = 0;
    }
    v4.hits.length = 0;
  });

  it('does not follow a redirect', async () => {
    const target = (await listen('127.0.0.1'))!;
    v4.answer = (res) => res.writeHead(302, { location: `http://127.0.0.1:${target.port}/metadata` }).end();
    try {
      const error = await deliver(true, `http://127.0.0.1:${v4.port}/hook`);
      expect(error).toBeInstanceOf(ApplicationFailure);
      expect((error as ApplicationFailure).type).toBe('WebhookRejected');
      expect((error as ApplicationFailure).message).toMatch(/302; redirects are not followed/);
      expect(v4.hits).toEqual(['POST /hook']);
      expect(target.hits).toEqual([]);
    } finally {
      v4.answer = (res) => res.writeHead(204).end();
      v4.hits.length = 0;
      await new Promise((resolve) => target.server.close(resolve));
    }
  });
});
