// A local HTTP endpoint that records webhook deliveries so tests can assert on them.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';

// One recorded POST, with the body exactly as received (signatures are computed over rawBody).
export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Parsed body, or undefined when it is not JSON. */
  json: unknown;
  receivedAt: Date;
  /** The status code the receiver answered with. */
  status: number;
}

// Handle returned to tests: where to send, what arrived, and knobs for failure/retry scenarios.
export interface WebhookReceiver {
  url: string;
  deliveries: ReceivedDelivery[];
  /** Answer the next `n` POSTs with `status` (default 500) instead of 200. */
  failNext(n: number, status?: number): void;
  /** Resolves with the first delivery (already received or future) matching `predicate`. */
  waitFor(predicate: (d: ReceivedDelivery) => boolean, timeoutMs?: number): Promise<ReceivedDelivery>;
  close(): Promise<void>;
}

// Webhook tests need a real endpoint on an ephemeral port that records every POST and can fail on demand.
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const deliveries: ReceivedDelivery[] = [];
  const waiters = new Set<(d: ReceivedDelivery) => void>();
  const failures: number[] = [];

  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(rawBody);
      } catch {
        json = undefined;
      }
      const status = failures.shift() ?? 200;
      const delivery: ReceivedDelivery = { headers: req.headers, rawBody, json, receivedAt: new Date(), status };
      deliveries.push(delivery);
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: status < 300 }));
      for (const notify of [...waiters]) notify(delivery);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    failNext(n, status = 500) {
      for (let i = 0; i < n; i++) failures.push(status);
    },
    waitFor(predicate, timeoutMs = 5_000) {
      const seen = deliveries.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const onDelivery = (d: ReceivedDelivery): void => {
          if (!predicate(d)) return;
          clearTimeout(timer);
          waiters.delete(onDelivery);
          resolve(d);
        };
        const timer = setTimeout(() => {
          waiters.delete(onDelivery);
          reject(new Error(`no matching webhook delivery within ${timeoutMs} ms (${deliveries.length} received)`));
        }, timeoutMs);
        waiters.add(onDelivery);
      });
    },
    close() {
      return new Promise((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

// Tests check dbferry's X-Signature header: hex HMAC-SHA256 of the raw body, compared in constant time.
export function verifySignature(rawBody: string | Buffer, signatureHex: string, secret: string): boolean {
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  if (signatureHex.length !== expected.length * 2 || !/^[0-9a-f]*$/i.test(signatureHex)) return false;
  return timingSafeEqual(Buffer.from(signatureHex, 'hex'), expected);
}
