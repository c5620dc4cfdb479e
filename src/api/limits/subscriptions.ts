// Live progress subscriptions: how many one user may hold open at once, and how long each may last.
import { ApiError } from '../errors.ts';

export interface SubscriptionSettings {
  /** Subscriptions one user may have open at once. */
  perUser: number;
  /** How long one subscription may stay open before it ends (the client may subscribe again). */
  maxDurationSeconds: number;
}

/** One open subscription: released once, when it ends, whatever ends it. */
export interface SubscriptionLease {
  /** Aborted when the subscription has lasted its maximum duration. */
  readonly expired: AbortSignal;
  release(): void;
}

/** Seconds a refused subscriber is told to wait. */
const RETRY_AFTER_SECONDS = 5;

/** Counts each user's open subscriptions; `open` refuses one over the cap with 429. */
export class ProgressSubscriptions {
  readonly #open = new Map<number, number>();

  constructor(readonly settings: SubscriptionSettings) {}

  /** Takes a place for one more subscription of `userId`, or throws TOO_MANY_REQUESTS. `ended` releases it too. */
  open(userId: number, ended?: AbortSignal): SubscriptionLease {
    const held = this.#open.get(userId) ?? 0;
    if (held >= this.settings.perUser) {
      throw new ApiError(
        'TOO_MANY_REQUESTS',
        `at most ${this.settings.perUser} progress subscriptions may be open at once; close one first`,
        undefined,
        { retryAfterSeconds: RETRY_AFTER_SECONDS },
      );
    }
    this.#open.set(userId, held + 1);
    const expiry = new AbortController();
    const timer = setTimeout(() => expiry.abort(), this.settings.maxDurationSeconds * 1000);
    timer.unref();
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      ended?.removeEventListener('abort', release);
      const now = (this.#open.get(userId) ?? 1) - 1;
      if (now > 0) this.#open.set(userId, now);
      else this.#open.delete(userId);
    };
    if (ended?.aborted) release();
    else ended?.addEventListener('abort', release, { once: true });
    return { expired: expiry.signal, release };
  }

  /** The subscriptions `userId` has open. */
  openFor(userId: number): number {
    return this.#open.get(userId) ?? 0;
  }
}
