// Pull grants (seed 003's sender connections) as pure rules: the token's shape, the download
// password's slow hash, the IP allow-list, allowed hours, table rules, approval, the rate limit, and
// `validateGrantRequest`, which checks a request against a grant in the seed's order.
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { bareHost } from '../shared/network.ts';

export const GRANT_STATUSES = ['pending', 'active', 'suspended', 'revoked', 'expired'] as const;
export type GrantStatus = (typeof GRANT_STATUSES)[number];
export const APPROVAL_MODES = ['auto_approve', 'require_approval', 'per_table'] as const;
export type ApprovalMode = (typeof APPROVAL_MODES)[number];

/** `{start: "22:00", end: "06:00", timezone: "Europe/Berlin"}`: requests from start (inclusive) to end (exclusive), local time. */
export interface AllowedHours {
  start: string;
  end: string;
  timezone: string;
}

/** What the rules read of a grant (the store's row, without anything the caller need not see). */
export interface GrantRules {
  status: GrantStatus;
  expiresAt: Date | null;
  maxDownloads: number | null;
  downloadsUsed: number;
  maxRecordsTotal: number | null;
  recordsUsed: number;
  ipAllowlist: readonly string[];
  allowedHours: AllowedHours | null;
  /** The scrypt hash of the download password (`scrypt$N$r$p$salt$hash`), or null for none. */
  downloadPasswordHash: string | null;
  approvalMode: ApprovalMode;
  allowedTables: readonly string[];
  excludedTables: readonly string[];
  autoApproveTables: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Tokens: `dbg_<id>_<secret>`, 32 random bytes, only sha256(secret) stored (like API tokens).

const GRANT_TOKEN = /^dbg_(\d{1,10})_([A-Za-z0-9_-]{43})$/;

/** A new secret, and the hash the store keeps; the token is `dbg_<id>_<secret>` once the row has its id. */
export function newGrantSecret(): { secret: string; hash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret) };
}

export const hashSecret = (secret: string): string => createHash('sha256').update(secret).digest('hex');
export const grantToken = (id: number, secret: string): string => `dbg_${id}_${secret}`;

/** The id and the secret of a token, or null when it is not one. */
export function parseGrantToken(token: string): { id: number; secret: string } | null {
  const match = GRANT_TOKEN.exec(token);
  return match ? { id: Number(match[1]), secret: match[2]! } : null;
}

/**
 * Whether a presented token matches the stored hash, in constant time: a malformed token or a
 * missing row costs the same hash and comparison as a good one (see TokenStore.verify).
 */
export function tokenMatches(token: string, storedHash: string | null): boolean {
  const parsed = parseGrantToken(token);
  const presented = createHash('sha256')
    .update(parsed?.secret ?? token)
    .digest();
  const stored = storedHash && /^[0-9a-f]{64}$/.test(storedHash) ? Buffer.from(storedHash, 'hex') : Buffer.alloc(32);
  const equal = timingSafeEqual(stored, presented);
  return Boolean(parsed && storedHash && equal);
}

// ---------------------------------------------------------------------------------------------
// The download password: scrypt, salted, a slow hash.

const SCRYPT = { N: 16384, r: 8, p: 1 } as const;
const SCRYPT_KEY_BYTES = 32;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const hash = scryptSync(password, salt, SCRYPT_KEY_BYTES, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

/** Whether `password` matches a hash made by hashPassword (constant-time comparison); false for anything malformed. */
export function passwordMatches(password: string, stored: string): boolean {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const N = Number(n);
  if (!Number.isInteger(N) || N < 2 || N > 2 ** 20 || !expected.length) return false;
  const actual = scryptSync(password, Buffer.from(salt, 'base64url'), expected.length, {
    N,
    r: Number(r),
    p: Number(p),
    maxmem: 256 * N * Number(r),
  });
  return timingSafeEqual(actual, expected);
}

// ---------------------------------------------------------------------------------------------
// The IP allow-list: addresses and CIDR ranges, IPv4 and IPv6.

/** An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, as a dual-stack socket reports it) becomes the IPv4 address. */
export function normalizeAddress(address: string): string {
  const bare = bareHost(address.trim());
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(bare);
  if (mapped && isIP(mapped[1]!) === 4) return mapped[1]!;
  return bare;
}

/** Why an allow-list entry is not an address or a CIDR range, or null when it is one. */
export function allowlistEntryProblem(entry: string): string | null {
  const [base = '', bits, extra] = entry.trim().split('/');
  const family = isIP(base);
  if (!family || extra !== undefined) return `"${entry}" is not an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)`;
  if (bits === undefined) return null;
  const max = family === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return `"${entry}": the prefix length must be a whole number from 0 to ${max}`;
  return null;
}

/** A matcher for a validated allow-list (entries that are not addresses or ranges throw). */
export function allowlistMatcher(entries: readonly string[]): (address: string) => boolean {
  const list = new BlockList();
  for (const entry of entries) {
    const problem = allowlistEntryProblem(entry);
    if (problem) throw new Error(problem);
    const [base = '', bits] = entry.trim().split('/');
    const family = isIP(base) === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(base, family);
    else list.addSubnet(base, Number(bits), family);
  }
  return (address) => {
    const ip = normalizeAddress(address);
    const family = isIP(ip);
    if (!family) return false;
    return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/** An empty allow-list allows every address; otherwise the address must be in it (a missing address never is). */
export function ipAllowed(allowlist: readonly string[], address: string | null | undefined): boolean {
  if (!allowlist.length) return true;
  if (!address) return false;
  return allowlistMatcher(allowlist)(address);
}

// ---------------------------------------------------------------------------------------------
// Allowed hours, in an IANA time zone; a window whose end is before its start wraps past midnight.

const CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;

export function isTimeZone(zone: string): boolean {
  if (!zone || zone.length > 64) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why the allowed hours are wrong, with the field at fault, or null. */
export function allowedHoursProblem(hours: AllowedHours): { field: 'start' | 'end' | 'timezone'; message: string } | null {
  if (!CLOCK.test(hours.start)) return { field: 'start', message: `must be a time of day HH:MM (00:00 to 23:59), got "${hours.start}"` };
  if (!CLOCK.test(hours.end)) return { field: 'end', message: `must be a time of day HH:MM (00:00 to 23:59), got "${hours.end}"` };
  if (hours.start === hours.end) return { field: 'end', message: 'must differ from start (leave allowedHours out to allow every hour)' };
  if (!isTimeZone(hours.timezone))
    return { field: 'timezone', message: `"${hours.timezone}" is not an IANA time zone (Europe/Berlin, America/New_York, UTC)` };
  return null;
}

const minutesOf = (clock: string): number => {
  const [h, m] = clock.split(':');
  return Number(h) * 60 + Number(m);
};

/** The local time of day at `now` in `timezone`, as `HH:MM`. */
export function localClock(now: Date, timezone: string): string {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const hour = parts.find((p) => p.type === 'hour')?.value ?? '00';
  const minute = parts.find((p) => p.type === 'minute')?.value ?? '00';
  return `${hour.padStart(2, '0')}:${minute.padStart(2, '0')}`;
}

/** Whether `now` is within the window (start inclusive, end exclusive; wrapping when end < start). */
export function withinAllowedHours(hours: AllowedHours | null, now: Date): boolean {
  if (!hours) return true;
  const t = minutesOf(localClock(now, hours.timezone));
  const start = minutesOf(hours.start);
  const end = minutesOf(hours.end);
  return start < end ? t >= start && t < end : t >= start || t < end;
}

// ---------------------------------------------------------------------------------------------
// Tables and approval.

/** A table in both lists is excluded; an empty allowed list allows every table not excluded. */
export function tableAllowed(grant: Pick<GrantRules, 'allowedTables' | 'excludedTables'>, table: string): boolean {
  if (grant.excludedTables.includes(table)) return false;
  return !grant.allowedTables.length || grant.allowedTables.includes(table);
}

/** Whether serving `table` waits for an admin's approval: always, never, or per table (unless auto-approved). */
export function requiresApproval(grant: Pick<GrantRules, 'approvalMode' | 'autoApproveTables'>, table: string): boolean {
  if (grant.approvalMode === 'auto_approve') return false;
  if (grant.approvalMode === 'require_approval') return true;
  return !grant.autoApproveTables.includes(table);
}

// ---------------------------------------------------------------------------------------------
// Validation, in the seed's order.

/** Each refusal's code (seed 003's atoms; the seed's `download_limit_exceeded` and `ip_not_whitelisted` are aliases). */
export const GRANT_REFUSALS = [
  'invalid_token',
  'grant_not_active',
  'grant_expired',
  'download_limit_reached',
  'record_limit_reached',
  'ip_not_allowed',
  'outside_allowed_hours',
  'invalid_password',
] as const;
export type GrantRefusalCode = (typeof GRANT_REFUSALS)[number];
export const GRANT_REFUSAL_ALIASES: Readonly<Record<string, GrantRefusalCode>> = {
  download_limit_exceeded: 'download_limit_reached',
  ip_not_whitelisted: 'ip_not_allowed',
  connection_not_active: 'grant_not_active',
  connection_expired: 'grant_expired',
};

/** Why a request on a grant is refused: its code, the HTTP status to answer with, and a message a puller can act on. */
export class GrantRefusal extends Error {
  override name = 'GrantRefusal';
  readonly status: 401 | 403;
  constructor(
    readonly code: GrantRefusalCode,
    message: string,
  ) {
    super(message);
    this.status = code === 'invalid_token' || code === 'invalid_password' ? 401 : 403;
  }
}

export interface GrantRequest {
  now: Date;
  /** The requester's address; null when unknown (refused by a non-empty allow-list). */
  ip: string | null;
  /** The download password the request carries. */
  password?: string | null | undefined;
  /** Records this request would add; refused when they take the grant past its total. */
  records?: number | undefined;
}

/**
 * Checks a request against a grant, stopping at the first failure, in seed 003's order: invalid
 * token (no grant), not active, expired, download limit, record limit, IP not allowed, outside
 * allowed hours, then the download password. Throws a GrantRefusal; returns nothing when it passes.
 * A grant whose status is already `expired` is refused as expired, other non-active ones as not active.
 */
export function validateGrantRequest(grant: GrantRules | null, request: GrantRequest): void {
  if (!grant) throw new GrantRefusal('invalid_token', "Invalid token: check the token is correct and hasn't been regenerated");
  if (grant.status === 'expired') throw new GrantRefusal('grant_expired', 'Grant expired: it passed its expiry date or its limits');
  if (grant.status !== 'active') {
    throw new GrantRefusal('grant_not_active', `Grant not active: its status is "${grant.status}"; it must be "active"`);
  }
  if (grant.expiresAt && grant.expiresAt.getTime() <= request.now.getTime()) {
    throw new GrantRefusal('grant_expired', `Grant expired on ${grant.expiresAt.toISOString()}`);
  }
  if (grant.maxDownloads !== null && grant.downloadsUsed >= grant.maxDownloads) {
    throw new GrantRefusal(
      'download_limit_reached',
      `Download limit reached: ${grant.downloadsUsed} of ${grant.maxDownloads} downloads used; raise max downloads`,
    );
  }
  if (grant.maxRecordsTotal !== null) {
    const records = request.records ?? 0;
    if (grant.recordsUsed >= grant.maxRecordsTotal || grant.recordsUsed + records > grant.maxRecordsTotal) {
      throw new GrantRefusal(
        'record_limit_reached',
        `Record limit reached: ${grant.recordsUsed} of ${grant.maxRecordsTotal} records used${records ? `, ${records} more asked for` : ''}; raise max records total`,
      );
    }
  }
  if (!ipAllowed(grant.ipAllowlist, request.ip)) {
    throw new GrantRefusal('ip_not_allowed', `IP not allowed: ${request.ip ?? '(unknown address)'} is not in the grant's IP allow-list`);
  }
  if (!withinAllowedHours(grant.allowedHours, request.now)) {
    const h = grant.allowedHours!;
    throw new GrantRefusal(
      'outside_allowed_hours',
      `Outside allowed hours: requests are accepted from ${h.start} to ${h.end} ${h.timezone}; it is ${localClock(request.now, h.timezone)} there`,
    );
  }
  if (grant.downloadPasswordHash !== null) {
    if (!request.password) throw new GrantRefusal('invalid_password', 'A download password is required for this grant');
    if (!passwordMatches(request.password, grant.downloadPasswordHash))
      throw new GrantRefusal('invalid_password', 'Invalid download password');
  }
}

/** Why a grant is past its date or limits (for the expiry sweep), or null. */
export function expiryReason(
  grant: Pick<GrantRules, 'expiresAt' | 'maxDownloads' | 'downloadsUsed' | 'maxRecordsTotal' | 'recordsUsed'>,
  now: Date,
): string | null {
  if (grant.expiresAt && grant.expiresAt.getTime() <= now.getTime()) return 'expiry date passed';
  if (grant.maxDownloads !== null && grant.downloadsUsed >= grant.maxDownloads) return 'download limit reached';
  if (grant.maxRecordsTotal !== null && grant.recordsUsed >= grant.maxRecordsTotal) return 'record limit reached';
  return null;
}

// ---------------------------------------------------------------------------------------------
// The rate limit per grant: a token bucket of `perMinute` requests, refilled continuously.

export class GrantRateLimiter {
  readonly #buckets = new Map<number, { tokens: number; at: number; perMinute: number }>();
  constructor(private readonly clock: () => number = Date.now) {}

  /** Takes one request from the grant's bucket: ok, or the whole seconds to wait (Retry-After). */
  take(grantId: number, perMinute: number): { ok: true } | { ok: false; retryAfterSeconds: number } {
    const now = this.clock();
    const ratePerMs = perMinute / 60_000;
    let bucket = this.#buckets.get(grantId);
    if (!bucket || bucket.perMinute !== perMinute) {
      bucket = { tokens: perMinute, at: now, perMinute };
      this.#buckets.set(grantId, bucket);
    } else {
      bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.at) * ratePerMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1 - 1e-9) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000)) };
  }

  /** Forgets a grant (deleted, or its token regenerated). */
  forget(grantId: number): void {
    this.#buckets.delete(grantId);
  }
}
