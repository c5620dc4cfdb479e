// Cron expressions and time zones for backup schedules, checked here with messages that name the
// field, before Temporal sees them. Temporal would accept some strings that do not mean what they
// say: `1#2` (the `#` starts a comment there, so it fires every Monday), `31 4` (never fires) and a
// day-of-month together with a day-of-week (Temporal requires both; classic cron takes either).

/** How a schedule fires: a five-field cron line for Temporal, or a fixed interval. */
export type ScheduleTiming = { kind: 'cron'; expression: string } | { kind: 'interval'; everyMs: number };

/** A refused cron expression or time zone; the message starts with the field's name. */
export class ScheduleSpecError extends Error {
  override name = 'ScheduleSpecError';
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

const MAX_LENGTH = 100;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const FULL_MONTHS = [
  'JANUARY',
  'FEBRUARY',
  'MARCH',
  'APRIL',
  'MAY',
  'JUNE',
  'JULY',
  'AUGUST',
  'SEPTEMBER',
  'OCTOBER',
  'NOVEMBER',
  'DECEMBER',
];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const FULL_DAYS = ['SUNDAY', 'MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY'];
// Days a month can have (February in a leap year).
const MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

interface FieldRule {
  name: string;
  min: number;
  max: number;
  names?: Map<string, number>;
}

const nameMap = (short: string[], full: string[], offset: number) =>
  new Map([...short.map((n, i) => [n, i + offset] as const), ...full.map((n, i) => [n, i + offset] as const)]);

const FIELDS: FieldRule[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: nameMap(MONTHS, FULL_MONTHS, 1) },
  // 0 and 7 are both Sunday, as in Vixie cron and Temporal.
  { name: 'day-of-week', min: 0, max: 7, names: nameMap(DAYS, FULL_DAYS, 0) },
];

const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const MAX_INTERVAL_MS = 366 * UNIT_MS.d;

/** The values one field matches, or a reason it is refused. */
function parseField(text: string, rule: FieldRule): Set<number> | string {
  const values = new Set<number>();
  const value = (token: string): number | string => {
    const named = rule.names?.get(token.toUpperCase());
    if (named !== undefined) return named;
    if (!/^\d{1,2}$/.test(token)) return `"${token}" is not a number${rule.names ? ' or a name' : ''}`;
    const n = Number(token);
    return n < rule.min || n > rule.max ? `${n} is out of range ${rule.min}-${rule.max}` : n;
  };
  for (const item of text.split(',')) {
    const match = /^(\*|[A-Za-z0-9]+)(?:-([A-Za-z0-9]+))?(?:\/(\d{1,3}))?$/.exec(item);
    if (!match) {
      if (/[#LW?]/i.test(item)) return `"${item}": L, W, # and ? are not supported`;
      return `"${item}" is not a value, range (a-b), list (a,b) or step (*/n)`;
    }
    const [, startText, endText, stepText] = match;
    if (startText === '*' && endText !== undefined) return `"${item}": * cannot start a range`;
    const start = startText === '*' ? rule.min : value(startText!);
    if (typeof start === 'string') return start;
    // `a/n` runs from a to the field's maximum, as in Vixie cron and Temporal.
    const end = endText !== undefined ? value(endText) : startText === '*' || stepText !== undefined ? rule.max : start;
    if (typeof end === 'string') return end;
    if (end < start) return `"${item}": the range runs backwards (${start} > ${end})`;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (step < 1) return `"${item}": the step must be at least 1`;
    for (let v = start; v <= end; v += step) values.add(v);
  }
  return values;
}

const ordinal = ['1st', '2nd', '3rd', '4th', '5th'];

/** Parses a five-field line; throws naming `field` and the cron field at fault. */
function parseFiveFields(line: string, field: string): void {
  const parts = line.split(/\s+/);
  if (parts.length !== 5) {
    throw new ScheduleSpecError(
      field,
      `must have 5 fields (minute hour day-of-month month day-of-week) or be @daily, @hourly, @weekly, @monthly, @yearly or @every <n>m|h|d; got ${parts.length} field${parts.length === 1 ? '' : 's'}`,
    );
  }
  const sets = FIELDS.map((rule, i) => {
    const parsed = parseField(parts[i]!, rule);
    if (typeof parsed === 'string') throw new ScheduleSpecError(field, `${rule.name} (${ordinal[i]} field): ${parsed}`);
    return parsed;
  });
  const [, , dom, month] = sets as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (parts[2] !== '*' && parts[4] !== '*') {
    throw new ScheduleSpecError(
      field,
      'give day-of-month or day-of-week, not both (Temporal would require both to match, where classic cron takes either)',
    );
  }
  if (![...month].some((m) => [...dom].some((d) => d <= MONTH_DAYS[m - 1]!))) {
    throw new ScheduleSpecError(field, `never fires: day-of-month ${parts[2]} does not occur in month ${parts[3]}`);
  }
}

/**
 * Checks a cron expression and says how Temporal should run it: five fields (names such as MON and
 * JAN allowed), a shorthand (`@daily`, `@hourly`, `@weekly`, `@monthly`, `@yearly`, `@annually`,
 * `@midnight`, becoming their five-field form) or `@every <n>m|h|d` (an interval, at least a minute).
 * Seconds, years, `CRON_TZ=`, comments and Quartz's L/W/#/? are refused.
 */
export function parseCronExpression(text: string, field = 'cron'): ScheduleTiming {
  if (text.length > MAX_LENGTH) throw new ScheduleSpecError(field, `must be at most ${MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(text))
    throw new ScheduleSpecError(field, 'must not contain control characters or line breaks');
  const line = text.trim();
  if (line === '') throw new ScheduleSpecError(field, 'must not be empty');
  if (/^(CRON_)?TZ=/i.test(line)) throw new ScheduleSpecError(field, 'put the time zone in the timezone field, not CRON_TZ= or TZ=');
  if (line.startsWith('@')) {
    const every = /^@every\s+(\d{1,6})([mhd])$/i.exec(line);
    if (every) {
      const everyMs = Number(every[1]) * UNIT_MS[every[2]!.toLowerCase() as keyof typeof UNIT_MS];
      if (everyMs < UNIT_MS.m || everyMs > MAX_INTERVAL_MS) throw new ScheduleSpecError(field, '@every must be between 1m and 366d');
      return { kind: 'interval', everyMs };
    }
    const expanded = SHORTHANDS[line.toLowerCase()];
    if (!expanded)
      throw new ScheduleSpecError(
        field,
        `unknown shorthand "${line.slice(0, 20)}": use @yearly, @monthly, @weekly, @daily, @hourly or @every <n>m|h|d`,
      );
    return { kind: 'cron', expression: expanded };
  }
  parseFiveFields(line, field);
  return { kind: 'cron', expression: line.split(/\s+/).join(' ') };
}

const TIMEZONE_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+){0,2}$/;

/**
 * Checks an IANA time zone name (`Europe/Berlin`, `UTC`, `America/Argentina/Buenos_Aires`).
 * Offsets (`+01:00`), `Local` and wrongly cased names (`europe/berlin`, which Node accepts but
 * Temporal's server does not) are refused; the message suggests the right spelling when there is one.
 */
export function checkTimezone(name: string, field = 'timezone'): string {
  if (name.length === 0) throw new ScheduleSpecError(field, 'must not be empty');
  if (name.length > 64 || !TIMEZONE_SHAPE.test(name)) {
    throw new ScheduleSpecError(field, `${JSON.stringify(name.slice(0, 64))} is not an IANA time zone name such as UTC or Europe/Berlin`);
  }
  let resolved: string;
  try {
    resolved = new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    throw new ScheduleSpecError(field, `unknown time zone "${name}" (use an IANA name such as UTC or Europe/Berlin)`);
  }
  const lower = name.toLowerCase();
  const canonical = [resolved, ...Intl.supportedValuesOf('timeZone')].find((z) => z.toLowerCase() === lower);
  if (canonical && canonical !== name)
    throw new ScheduleSpecError(field, `time zone names are case-sensitive: did you mean "${canonical}"?`);
  return name;
}
