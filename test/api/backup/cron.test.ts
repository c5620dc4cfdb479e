import { describe, expect, it } from 'vitest';
import { checkTimezone, parseCronExpression, ScheduleSpecError } from '../../../src/api/backup/cron.ts';

const refusal = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ScheduleSpecError);
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
};

describe('parseCronExpression', () => {
  it.each([
    ['0 2 * * *'],
    ['*/15 * * * *'],
    ['5-10/2 * * * *'],
    ['5/15 * * * *'],
    ['1,2,3-5,*/10 * * * *'],
    ['0 2 * * MON-FRI'],
    ['0 2 * * mon-fri'],
    ['0 2 * * 0-7'],
    ['0 2 * * SUNDAY'],
    ['0 2 * JAN-MAR *'],
    ['0 0 29 2 *'],
    ['30 4 1,15 * *'],
  ])('accepts %j as a five-field line', (cron) => {
    expect(parseCronExpression(cron)).toEqual({ kind: 'cron', expression: cron });
  });

  it('collapses extra whitespace and expands shorthands to their five-field form', () => {
    expect(parseCronExpression('  0   2 * *  * ')).toEqual({ kind: 'cron', expression: '0 2 * * *' });
    expect(parseCronExpression('@daily')).toEqual({ kind: 'cron', expression: '0 0 * * *' });
    expect(parseCronExpression('@DAILY')).toEqual({ kind: 'cron', expression: '0 0 * * *' });
    expect(parseCronExpression('@midnight')).toEqual({ kind: 'cron', expression: '0 0 * * *' });
    expect(parseCronExpression('@hourly')).toEqual({ kind: 'cron', expression: '0 * * * *' });
    expect(parseCronExpression('@weekly')).toEqual({ kind: 'cron', expression: '0 0 * * 0' });
    expect(parseCronExpression('@monthly')).toEqual({ kind: 'cron', expression: '0 0 1 * *' });
    expect(parseCronExpression('@yearly')).toEqual({ kind: 'cron', expression: '0 0 1 1 *' });
    expect(parseCronExpression('@annually')).toEqual({ kind: 'cron', expression: '0 0 1 1 *' });
  });

  it('turns @every into an interval of at least a minute', () => {
    expect(parseCronExpression('@every 90m')).toEqual({ kind: 'interval', everyMs: 90 * 60_000 });
    expect(parseCronExpression('@every 6h')).toEqual({ kind: 'interval', everyMs: 6 * 3_600_000 });
    expect(parseCronExpression('@every 1d')).toEqual({ kind: 'interval', everyMs: 86_400_000 });
    expect(refusal(() => parseCronExpression('@every 0m'))).toBe('cron: @every must be between 1m and 366d');
    expect(refusal(() => parseCronExpression('@every 30s'))).toMatch(/^cron: unknown shorthand/);
    expect(refusal(() => parseCronExpression('@every 400d'))).toBe('cron: @every must be between 1m and 366d');
  });

  it.each([
    ['61 * * * *', 'cron: minute (1st field): 61 is out of range 0-59'],
    ['0 24 * * *', 'cron: hour (2nd field): 24 is out of range 0-23'],
    ['0 0 0 * *', 'cron: day-of-month (3rd field): 0 is out of range 1-31'],
    ['0 0 * 13 *', 'cron: month (4th field): 13 is out of range 1-12'],
    ['0 2 * * 8', 'cron: day-of-week (5th field): 8 is out of range 0-7'],
    ['0 2 * * FRI-MON', 'cron: day-of-week (5th field): "FRI-MON": the range runs backwards (5 > 1)'],
    ['5-1 * * * *', 'cron: minute (1st field): "5-1": the range runs backwards (5 > 1)'],
    ['*/0 * * * *', 'cron: minute (1st field): "*/0": the step must be at least 1'],
    ['0 2 * * 1#2', 'cron: day-of-week (5th field): "1#2": L, W, # and ? are not supported'],
    ['0 2 ? * *', 'cron: day-of-month (3rd field): "?": L, W, # and ? are not supported'],
    ['0 2 * * FOO', 'cron: day-of-week (5th field): "FOO" is not a number or a name'],
    ['x 2 * * *', 'cron: minute (1st field): "x" is not a number'],
    ['0 2 ** * *', 'cron: day-of-month (3rd field): "**" is not a value, range (a-b), list (a,b) or step (*/n)'],
    ['0 2 1, * *', 'cron: day-of-month (3rd field): "" is not a value, range (a-b), list (a,b) or step (*/n)'],
  ])('refuses %j naming the field: %s', (cron, message) => {
    expect(refusal(() => parseCronExpression(cron))).toBe(message);
  });

  it('refuses the wrong number of fields, seconds and years included', () => {
    expect(refusal(() => parseCronExpression('garbage'))).toMatch(
      /^cron: must have 5 fields \(minute hour day-of-month month day-of-week\).*got 1 field$/,
    );
    expect(refusal(() => parseCronExpression('0 0 2 * * *'))).toMatch(/got 6 fields$/);
    expect(refusal(() => parseCronExpression('0 0 2 * * * 2030'))).toMatch(/got 7 fields$/);
  });

  it('refuses what Temporal would accept but not run as written', () => {
    expect(refusal(() => parseCronExpression('0 2 1 * MON'))).toMatch(/^cron: give day-of-month or day-of-week, not both/);
    expect(refusal(() => parseCronExpression('0 0 31 4 *'))).toBe('cron: never fires: day-of-month 31 does not occur in month 4');
    expect(refusal(() => parseCronExpression('0 0 30,31 2 *'))).toMatch(/^cron: never fires/);
    expect(parseCronExpression('0 0 31 1-4 *')).toEqual({ kind: 'cron', expression: '0 0 31 1-4 *' });
  });

  it('refuses empty, oversized, multi-line, CRON_TZ and unknown shorthand input', () => {
    expect(refusal(() => parseCronExpression(''))).toBe('cron: must not be empty');
    expect(refusal(() => parseCronExpression('   '))).toBe('cron: must not be empty');
    expect(refusal(() => parseCronExpression('0 2 * * * '.repeat(100)))).toBe('cron: must be at most 100 characters');
    expect(refusal(() => parseCronExpression('0 2 * * *\n0 3 * * *'))).toBe('cron: must not contain control characters or line breaks');
    expect(refusal(() => parseCronExpression('CRON_TZ=Europe/Berlin 0 2 * * *'))).toMatch(/^cron: put the time zone in the timezone field/);
    expect(refusal(() => parseCronExpression('@reboot'))).toMatch(/^cron: unknown shorthand "@reboot"/);
  });

  it('names the field it was given', () => {
    expect(refusal(() => parseCronExpression('61 * * * *', 'schedule.cron'))).toMatch(/^schedule\.cron: minute/);
  });
});

describe('checkTimezone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'Asia/Kolkata', 'US/Eastern'])('accepts %s', (tz) => {
    expect(checkTimezone(tz)).toBe(tz);
  });

  it.each([
    ['', 'timezone: must not be empty'],
    ['Nowhere/City', 'timezone: unknown time zone "Nowhere/City" (use an IANA name such as UTC or Europe/Berlin)'],
    ['Local', 'timezone: unknown time zone "Local" (use an IANA name such as UTC or Europe/Berlin)'],
    ['+01:00', 'timezone: "+01:00" is not an IANA time zone name such as UTC or Europe/Berlin'],
    ['../../etc/passwd', 'timezone: "../../etc/passwd" is not an IANA time zone name such as UTC or Europe/Berlin'],
    ['utc', 'timezone: time zone names are case-sensitive: did you mean "UTC"?'],
    ['europe/berlin', 'timezone: time zone names are case-sensitive: did you mean "Europe/Berlin"?'],
  ])('refuses %j: %s', (tz, message) => {
    expect(refusal(() => checkTimezone(tz))).toBe(message);
  });

  it('refuses a name of 1000 characters without echoing it whole', () => {
    const message = refusal(() => checkTimezone(`Europe/${'x'.repeat(1000)}`));
    expect(message).toMatch(/^timezone: ".*" is not an IANA time zone name/);
    expect(message.length).toBeLessThan(200);
  });
});
