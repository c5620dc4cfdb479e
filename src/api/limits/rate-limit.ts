// The API's request rate limit: a token bucket per caller (the bearer token's id once it is
// verified, the client's IP address otherwise), in memory, shared by tRPC and REST.
import type { IncomingMessage } from 'node:http';
import { ApiError } from '../errors.ts';

export interface RateLimitSettings {
  /** Requests a caller may make per minute, sustained. */
  perMinute: number;
  /** Requests a caller may make at once, beyond the sustained rate (the bucket's size). */
  burst: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** The refusal of a request over its caller's rate: 429 with `Retry-After` (whole seconds). */
export const rateLimited = (retryAfterSeconds: number): ApiError =>
  new ApiError('TOO_MANY_REQUESTS', `too many requests: try again in ${retryAfterSeconds} s`, undefined, { retryAfterSeconds });

/**
 * Token buckets by key: each holds up to `burst` requests and refills at `perMinute` a minute.
 * Idle buckets that are full again are forgotten, so memory stays bounded by the active callers.
 */
export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #perMs: number;
  #sweptAt = 0;

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.#perMs = settings.perMinute / 60_000;
  }

  /** Takes one request from `key`'s bucket: null when it may go on, else the seconds until it may. */
  take(key: string): number | null {
    const now = this.now();
    this.sweep(now);
    const bucket = this.#buckets.get(key) ?? { tokens: this.settings.burst, at: now };
    bucket.tokens = Math.min(this.settings.burst, bucket.tokens + (now - bucket.at) * this.#perMs);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return null;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000));
  }

  /** Throws the 429 when `key` is over its rate. */
  admit(key: string): void {
    const wait = this.take(key);
    if (wait !== null) throw rateLimited(wait);
  }

  /** How many callers have a bucket (for tests). */
  get size(): number {
    return this.#buckets.size;
  }

  private sweep(now: number): void {
    const refillMs = this.settings.burst / this.#perMs;
    if (now - this.#sweptAt < Math.min(60_000, refillMs)) return;
    this.#sweptAt = now;
    for (const [key, bucket] of this.#buckets) if (now - bucket.at >= refillMs) this.#buckets.delete(key);
  }
}

/** The bucket of a verified token: its id (`dbf_<id>_…`), so a user's tokens are limited apart. */
export function tokenKey(token: string, userId: number): string {
  const id = /^dbf_(\d{1,10})_/.exec(token)?.[1];
  return id ? `token:${id}` : `user:${userId}`;
}

/** The bucket of an unauthenticated request: the address it comes from (IPv4-mapped IPv6 unmapped). */
export function clientKey(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? 'unknown';
  return `ip:${address.startsWith('::ffff:') ? address.slice(7) : address}`;
}
