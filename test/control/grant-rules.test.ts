import { describe, expect, it } from 'vitest';
import {
  allowedHoursProblem,
  allowlistEntryProblem,
  expiryReason,
  GrantRateLimiter,
  GrantRefusal,
  grantToken,
  hashPassword,
  ipAllowed,
  newGrantSecret,
  parseGrantToken,
  passwordMatches,
  requiresApproval,
  tableAllowed,
  tokenMatches,
  validateGrantRequest,
  withinAllowedHours,
  type GrantRefusalCode,
  type GrantRules,
} from '../../src/control/grant-rules.ts';

const NOW = new Date('2026-03-15T12:00:00Z');
const PASSWORD_HASH = hashPassword('correct horse battery');

const active = (over: Partial<GrantRules> = {}): GrantRules => ({
  status: 'active',
  expiresAt: null,
  maxDownloads: null,
  downloadsUsed: 0,
  maxRecordsTotal: null,
  recordsUsed: 0,
  ipAllowlist: [],
  allowedHours: null,
  downloadPasswordHash: null,
  approvalMode: 'auto_approve',
  allowedTables: [],
  excludedTables: [],
  autoApproveTables: [],
  ...over,
});

function refusal(fn: () => void): GrantRefusal {
  try {
    fn();
  } catch (error) {
    if (error instanceof GrantRefusal) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('validateGrantRequest', () => {
  it('passes an active grant with no restrictions', () => {
    expect(() => validateGrantRequest(active(), { now: NOW, ip: '203.0.114.7' })).not.toThrow();
  });

  it('refuses in the seed order, each with its own code, status and message', () => {
    // A grant failing every check: each fix reveals the next refusal, in the seed's order.
    const grant = active({
      status: 'suspended',
      expiresAt: new Date('2026-03-01T00:00:00Z'),
      maxDownloads: 3,
      downloadsUsed: 3,
      maxRecordsTotal: 100,
      recordsUsed: 100,
      ipAllowlist: ['10.0.0.0/8'],
      allowedHours: { start: '02:00', end: '05:00', timezone: 'UTC' },
      downloadPasswordHash: PASSWORD_HASH,
    });
    const steps: Array<[GrantRefusalCode, RegExp, 401 | 403, Partial<GrantRules>]> = [
      ['grant_not_active', /not active.*"suspended"/, 403, { status: 'active' }],
      ['grant_expired', /expired on 2026-03-01/, 403, { expiresAt: null }],
      ['download_limit_reached', /Download limit reached: 3 of 3/, 403, { maxDownloads: null }],
      ['record_limit_reached', /Record limit reached: 100 of 100/, 403, { maxRecordsTotal: null }],
      ['ip_not_allowed', /IP not allowed: 203\.0\.114\.7/, 403, { ipAllowlist: [] }],
      ['outside_allowed_hours', /from 02:00 to 05:00 UTC; it is 12:00 there/, 403, { allowedHours: null }],
      ['invalid_password', /download password is required/, 401, {}],
    ];
    let current = grant;
    const seen: string[] = [];
    expect(refusal(() => validateGrantRequest(null, { now: NOW, ip: '203.0.114.7' })).code).toBe('invalid_token');
    for (const [code, message, status, fix] of steps) {
      const r = refusal(() => validateGrantRequest(current, { now: NOW, ip: '203.0.114.7' }));
      expect(r.code).toBe(code);
      expect(r.message).toMatch(message);
      expect(r.status).toBe(status);
      expect(r.message).not.toContain(PASSWORD_HASH);
      seen.push(r.code);
      current = { ...current, ...fix };
    }
    expect(seen).toEqual(steps.map((s) => s[0]));
    expect(refusal(() => validateGrantRequest(current, { now: NOW, ip: '203.0.114.7', password: 'wrong' })).message).toBe(
      'Invalid download password',
    );
    expect(() => validateGrantRequest(current, { now: NOW, ip: '203.0.114.7', password: 'correct horse battery' })).not.toThrow();
  });

  it('names an invalid token after the troubleshooting list', () => {
    const r = refusal(() => validateGrantRequest(null, { now: NOW, ip: null }));
    expect(r).toMatchObject({ code: 'invalid_token', status: 401 });
    expect(r.message).toMatch(/hasn't been regenerated/);
  });

  it('treats a grant the sweep marked expired as expired, a pending or revoked one as not active', () => {
    expect(refusal(() => validateGrantRequest(active({ status: 'expired' }), { now: NOW, ip: null })).code).toBe('grant_expired');
    expect(refusal(() => validateGrantRequest(active({ status: 'pending' }), { now: NOW, ip: null })).code).toBe('grant_not_active');
    expect(refusal(() => validateGrantRequest(active({ status: 'revoked' }), { now: NOW, ip: null })).code).toBe('grant_not_active');
  });

  it('expires at the instant of expiresAt, not before', () => {
    const at = new Date(NOW.getTime() + 1000);
    expect(() => validateGrantRequest(active({ expiresAt: at }), { now: NOW, ip: null })).not.toThrow();
    expect(refusal(() => validateGrantRequest(active({ expiresAt: at }), { now: at, ip: null })).code).toBe('grant_expired');
  });

  it('counts limits as reached at the limit, and refuses records that would pass the total', () => {
    expect(() => validateGrantRequest(active({ maxDownloads: 3, downloadsUsed: 2 }), { now: NOW, ip: null })).not.toThrow();
    expect(() =>
      validateGrantRequest(active({ maxRecordsTotal: 100, recordsUsed: 90 }), { now: NOW, ip: null, records: 10 }),
    ).not.toThrow();
    const r = refusal(() => validateGrantRequest(active({ maxRecordsTotal: 100, recordsUsed: 90 }), { now: NOW, ip: null, records: 11 }));
    expect(r.code).toBe('record_limit_reached');
    expect(r.message).toMatch(/11 more asked for/);
  });

  it('refuses an unknown address when there is an allow-list', () => {
    expect(refusal(() => validateGrantRequest(active({ ipAllowlist: ['10.0.0.1'] }), { now: NOW, ip: null })).message).toMatch(
      /unknown address/,
    );
  });
});

describe('tokens', () => {
  it('are dbg_<id>_<43 base64url chars>, matched against the stored sha256 only', () => {
    const { secret, hash } = newGrantSecret();
    const token = grantToken(42, secret);
    expect(token).toMatch(/^dbg_42_[A-Za-z0-9_-]{43}$/);
    expect(parseGrantToken(token)).toEqual({ id: 42, secret });
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(hash).not.toContain(secret);
    expect(tokenMatches(token, hash)).toBe(true);
    expect(tokenMatches(`${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, hash)).toBe(false);
    expect(tokenMatches('dbf_42_whatever', hash)).toBe(false);
    expect(tokenMatches(token, null)).toBe(false);
    expect(tokenMatches('', hash)).toBe(false);
    expect(newGrantSecret().secret).not.toBe(secret);
  });
});

describe('download password', () => {
  it('is a salted scrypt hash: two hashes of one password differ, both verify, a wrong one does not', () => {
    const a = hashPassword('s3cret-password');
    const b = hashPassword('s3cret-password');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('s3cret-password');
    expect(passwordMatches('s3cret-password', a)).toBe(true);
    expect(passwordMatches('s3cret-password', b)).toBe(true);
    expect(passwordMatches('s3cret-passwore', a)).toBe(false);
    expect(passwordMatches('s3cret-password', 'sha256$abc')).toBe(false);
  });
});

describe('IP allow-list', () => {
  it('validates addresses and CIDR ranges, v4 and v6', () => {
    for (const good of ['10.1.2.3', '10.0.0.0/8', '0.0.0.0/0', '2001:db8::1', '2001:db8::/32', '::/0', '192.168.1.0/24'])
      expect(allowlistEntryProblem(good), good).toBeNull();
    expect(allowlistEntryProblem('10.0.0.0/33')).toMatch(/0 to 32/);
    expect(allowlistEntryProblem('2001:db8::/129')).toMatch(/0 to 128/);
    expect(allowlistEntryProblem('10.0.0.0/x')).toMatch(/prefix length/);
    expect(allowlistEntryProblem('10.0.0.0/8/1')).toMatch(/not an IP address or a CIDR range/);
    expect(allowlistEntryProblem('example.com')).toMatch(/not an IP address/);
    expect(allowlistEntryProblem('256.1.1.1')).toMatch(/not an IP address/);
  });

  it('matches v4 and v6 ranges, exact addresses, and IPv4 written as mapped IPv6', () => {
    const list = ['10.0.0.0/8', '192.168.5.7', '2001:db8:abcd::/48'];
    expect(ipAllowed(list, '10.200.3.4')).toBe(true);
    expect(ipAllowed(list, '11.0.0.1')).toBe(false);
    expect(ipAllowed(list, '192.168.5.7')).toBe(true);
    expect(ipAllowed(list, '192.168.5.8')).toBe(false);
    expect(ipAllowed(list, '::ffff:10.9.9.9')).toBe(true);
    expect(ipAllowed(list, '2001:db8:abcd:12::1')).toBe(true);
    expect(ipAllowed(list, '2001:db8:abce::1')).toBe(false);
    expect(ipAllowed(list, '[2001:db8:abcd::5]')).toBe(true);
    expect(ipAllowed(list, 'not-an-ip')).toBe(false);
    expect(ipAllowed([], '8.8.8.8')).toBe(true);
    expect(ipAllowed([], null)).toBe(true);
    expect(ipAllowed(['::1'], '::1')).toBe(true);
  });
});

describe('allowed hours', () => {
  const at = (iso: string) => new Date(iso);

  it('accepts from start (inclusive) to end (exclusive) in the grant time zone', () => {
    const hours = { start: '09:00', end: '17:00', timezone: 'Europe/Berlin' };
    // 2026-03-15 is winter time in Berlin: UTC+1.
    expect(withinAllowedHours(hours, at('2026-03-15T07:59:00Z'))).toBe(false);
    expect(withinAllowedHours(hours, at('2026-03-15T08:00:00Z'))).toBe(true);
    expect(withinAllowedHours(hours, at('2026-03-15T15:59:00Z'))).toBe(true);
    expect(withinAllowedHours(hours, at('2026-03-15T16:00:00Z'))).toBe(false);
    // Summer time (UTC+2): the same local window is an hour earlier in UTC.
    expect(withinAllowedHours(hours, at('2026-07-15T07:00:00Z'))).toBe(true);
    expect(withinAllowedHours(hours, at('2026-07-15T15:00:00Z'))).toBe(false);
  });

  it('wraps an overnight window past midnight', () => {
    const hours = { start: '22:00', end: '06:00', timezone: 'America/New_York' };
    // New York in March 2026 after the 8th: UTC-4.
    expect(withinAllowedHours(hours, at('2026-03-16T02:00:00Z'))).toBe(true); // 22:00 local
    expect(withinAllowedHours(hours, at('2026-03-16T05:30:00Z'))).toBe(true); // 01:30 local
    expect(withinAllowedHours(hours, at('2026-03-16T09:59:00Z'))).toBe(true); // 05:59 local
    expect(withinAllowedHours(hours, at('2026-03-16T10:00:00Z'))).toBe(false); // 06:00 local
    expect(withinAllowedHours(hours, at('2026-03-16T01:59:00Z'))).toBe(false); // 21:59 local
    expect(withinAllowedHours(hours, at('2026-03-16T16:00:00Z'))).toBe(false); // noon
  });

  it('reads the day in zones far from UTC (Asia/Kolkata +05:30, Pacific/Kiritimati +14)', () => {
    expect(withinAllowedHours({ start: '02:00', end: '05:00', timezone: 'Asia/Kolkata' }, at('2026-03-15T21:00:00Z'))).toBe(true); // 02:30
    expect(withinAllowedHours({ start: '23:00', end: '01:00', timezone: 'Pacific/Kiritimati' }, at('2026-03-15T09:30:00Z'))).toBe(true); // 23:30
    expect(withinAllowedHours({ start: '23:00', end: '01:00', timezone: 'Pacific/Kiritimati' }, at('2026-03-15T11:30:00Z'))).toBe(false); // 01:30
    expect(withinAllowedHours(null, NOW)).toBe(true);
  });

  it('validates clock times and IANA zones, naming the field', () => {
    expect(allowedHoursProblem({ start: '02:00', end: '05:00', timezone: 'UTC' })).toBeNull();
    expect(allowedHoursProblem({ start: '2:00', end: '05:00', timezone: 'UTC' })?.field).toBe('start');
    expect(allowedHoursProblem({ start: '02:00', end: '24:00', timezone: 'UTC' })?.field).toBe('end');
    expect(allowedHoursProblem({ start: '02:00', end: '02:00', timezone: 'UTC' })).toMatchObject({ field: 'end' });
    expect(allowedHoursProblem({ start: '02:00', end: '05:00', timezone: 'Mars/Olympus' })).toMatchObject({
      field: 'timezone',
      message: expect.stringMatching(/not an IANA time zone/),
    });
    expect(allowedHoursProblem({ start: '02:00', end: '05:00', timezone: '' })?.field).toBe('timezone');
  });
});

describe('tables and approval', () => {
  it('excludes a table in both lists; an empty allowed list allows every table not excluded', () => {
    expect(tableAllowed({ allowedTables: [], excludedTables: [] }, 'users')).toBe(true);
    expect(tableAllowed({ allowedTables: ['users', 'posts'], excludedTables: [] }, 'users')).toBe(true);
    expect(tableAllowed({ allowedTables: ['users', 'posts'], excludedTables: [] }, 'orders')).toBe(false);
    expect(tableAllowed({ allowedTables: ['users', 'posts'], excludedTables: ['users'] }, 'users')).toBe(false);
    expect(tableAllowed({ allowedTables: [], excludedTables: ['secrets'] }, 'secrets')).toBe(false);
  });

  it('needs approval always, never, or per table unless auto-approved', () => {
    expect(requiresApproval({ approvalMode: 'auto_approve', autoApproveTables: [] }, 'users')).toBe(false);
    expect(requiresApproval({ approvalMode: 'require_approval', autoApproveTables: ['users'] }, 'users')).toBe(true);
    expect(requiresApproval({ approvalMode: 'per_table', autoApproveTables: ['users'] }, 'users')).toBe(false);
    expect(requiresApproval({ approvalMode: 'per_table', autoApproveTables: ['users'] }, 'orders')).toBe(true);
  });
});

describe('the expiry sweep', () => {
  it('says why a grant is past its date or limits', () => {
    expect(expiryReason(active(), NOW)).toBeNull();
    expect(expiryReason(active({ expiresAt: new Date(NOW.getTime() - 1) }), NOW)).toBe('expiry date passed');
    expect(expiryReason(active({ maxDownloads: 2, downloadsUsed: 2 }), NOW)).toBe('download limit reached');
    expect(expiryReason(active({ maxRecordsTotal: 5, recordsUsed: 7 }), NOW)).toBe('record limit reached');
  });
});

describe('GrantRateLimiter', () => {
  it('allows perMinute requests at once, then answers how long to wait, and refills with the clock', () => {
    let now = 1_000_000;
    const limiter = new GrantRateLimiter(() => now);
    for (let i = 0; i < 60; i++) expect(limiter.take(1, 60), `request ${i}`).toEqual({ ok: true });
    expect(limiter.take(1, 60)).toEqual({ ok: false, retryAfterSeconds: 1 });
    // Another grant has its own bucket.
    expect(limiter.take(2, 60)).toEqual({ ok: true });
    now += 999;
    expect(limiter.take(1, 60)).toMatchObject({ ok: false });
    now += 1;
    expect(limiter.take(1, 60)).toEqual({ ok: true });
    expect(limiter.take(1, 60)).toMatchObject({ ok: false });
    // A minute later the bucket is full again, never fuller.
    now += 120_000;
    for (let i = 0; i < 60; i++) expect(limiter.take(1, 60)).toEqual({ ok: true });
    expect(limiter.take(1, 60)).toMatchObject({ ok: false });
  });

  it('tells a slow grant to wait long enough: 6 per minute is one per 10 seconds', () => {
    let now = 0;
    const limiter = new GrantRateLimiter(() => now);
    for (let i = 0; i < 6; i++) limiter.take(7, 6);
    expect(limiter.take(7, 6)).toEqual({ ok: false, retryAfterSeconds: 10 });
    now += 4_000;
    expect(limiter.take(7, 6)).toEqual({ ok: false, retryAfterSeconds: 6 });
    now += 6_000;
    expect(limiter.take(7, 6)).toEqual({ ok: true });
  });

  it('starts over when the limit changes, and forgets a grant', () => {
    const limiter = new GrantRateLimiter(() => 0);
    limiter.take(1, 1);
    expect(limiter.take(1, 1)).toMatchObject({ ok: false });
    expect(limiter.take(1, 2)).toEqual({ ok: true });
    limiter.forget(1);
    expect(limiter.take(1, 2)).toEqual({ ok: true });
  });
});
