import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/load.ts';

const base = {
  connections: {
    prod: { host: 'db', user: 'ferry', passwordEnv: 'PROD_PW' },
    prodTemp: { host: 'db', user: 'ferry_tmp', passwordEnv: 'TMP_PW' },
    elsewhere: { host: 'other', user: 'x' },
    dev: { host: '127.0.0.1', user: 'root', allowWrite: true },
  },
  control: { connection: 'dev' },
};
const profile = {
  source: { connection: 'prod', database: 'app' },
  destination: { connection: 'dev', database: 'app' },
  sanitize: { users: { email: { type: 'email', exclude: ['*@corp.com'] }, password: { type: 'hash' } } },
  limits: { activity_log: { maxRows: 1000, orderBy: 'created_at', direction: 'desc' } },
  excludeTables: ['telescope_entries'],
};
const withProfile = (p: unknown) => () => parseConfig(JSON.stringify({ ...base, pulls: { dev: p } }));

describe('pull profiles in the config file', () => {
  it('accepts a profile and fills its defaults', () => {
    const config = parseConfig(JSON.stringify({ ...base, pulls: { dev: profile } }));
    expect(config.pulls.dev).toMatchObject({ threads: 4, piiGuard: true, deadlineMinutes: 240, piiAllow: [] });
    expect(config.pulls.dev!.sanitize.users!.email).toEqual({ type: 'email', exclude: ['*@corp.com'], deterministic: false });
    expect(parseConfig(JSON.stringify(base)).pulls).toEqual({});
  });

  it.each([
    [
      'an unknown sanitizer type',
      { ...profile, sanitize: { users: { email: { type: 'scramble' } } } },
      /pulls\.dev\.sanitize\.users\.email\.type: /,
    ],
    [
      'a hostile table name',
      { ...profile, sanitize: { 'users`; DROP TABLE x': { email: { type: 'email' } } } },
      /pulls\.dev\.sanitize\.users`; DROP TABLE x: may contain only/,
    ],
    [
      'a hostile column name',
      { ...profile, sanitize: { users: { 'e mail': { type: 'email' } } } },
      /pulls\.dev\.sanitize\.users\.e mail: may contain only/,
    ],
    [
      'a pattern of only *',
      { ...profile, sanitize: { users: { email: { type: 'email', exclude: ['**'] } } } },
      /pulls\.dev\.sanitize\.users\.email\.exclude\.0: would match every value/,
    ],
    [
      'a pattern with a control character',
      { ...profile, sanitize: { users: { email: { type: 'email', exclude: ['a\u0000b'] } } } },
      /exclude\.0: must not contain control characters/,
    ],
    [
      'fixed without a value',
      { ...profile, sanitize: { users: { note: { type: 'fixed' } } } },
      /pulls\.dev\.sanitize\.users\.note\.value: type "fixed" needs a value/,
    ],
    [
      'a value on another type',
      { ...profile, sanitize: { users: { note: { type: 'name', value: 'x' } } } },
      /note\.value: only type "fixed" takes a value/,
    ],
    [
      'deterministic rules without secretEnv',
      { ...profile, sanitize: { users: { email: { type: 'email', deterministic: true } } } },
      /pulls\.dev\.secretEnv: deterministic rules \(users\.email\) need secretEnv/,
    ],
    ['a negative limit', { ...profile, limits: { log: { maxRows: -1 } } }, /pulls\.dev\.limits\.log\.maxRows: /],
    ['a bad direction', { ...profile, limits: { log: { maxRows: 1, direction: 'sideways' } } }, /pulls\.dev\.limits\.log\.direction: /],
    ['a rule on an excluded table', { ...profile, excludeTables: ['users'] }, /pulls\.dev\.sanitize\.users: table "users" is excluded/],
    [
      'an unknown source connection',
      { ...profile, source: { connection: 'nope', database: 'app' } },
      /pulls\.dev\.source\.connection: no connection named "nope"/,
    ],
    [
      'a workspace connection on another server',
      { ...profile, workspaceConnection: 'elsewhere' },
      /pulls\.dev\.workspaceConnection: must reach the same server/,
    ],
    ['an unknown field', { ...profile, password: 'x' }, /pulls\.dev: .*password/],
    ['a bad piiAllow entry', { ...profile, piiAllow: ['users'] }, /pulls\.dev\.piiAllow\.0: must be TABLE\.COLUMN/],
  ])('names the field for %s', (_label, p, message) => {
    expect(withProfile(p)).toThrow(ConfigError);
    expect(withProfile(p)).toThrow(message);
  });

  it('accepts alternate workspace credentials on the same server', () => {
    expect(withProfile({ ...profile, workspaceConnection: 'prodTemp' })).not.toThrow();
  });
});
