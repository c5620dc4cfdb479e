// The look-ups every pull activity shares: profiles, pools and the secret are refused, not retried, when wrong.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ApplicationFailure } from '@temporalio/activity';
import { parseConfig } from '../../../src/config/load.ts';
import { MysqlPools } from '../../../src/activities/mysql/pools.ts';
import { createPullResources } from '../../../src/activities/pull/pull-resources.ts';

const config = parseConfig(
  JSON.stringify({
    connections: {
      prod: { host: '127.0.0.1', user: 'root' },
      prodTemp: { host: '127.0.0.1', user: 'root' },
      dev: { host: '127.0.0.1', user: 'root', allowWrite: true },
    },
    control: { connection: 'dev' },
    workDir: '/var/dbferry',
    pulls: {
      plain: { source: { connection: 'prod', database: 'app' }, destination: { connection: 'dev', database: 'app' } },
      keyed: {
        source: { connection: 'prod', database: 'app' },
        destination: { connection: 'dev', database: 'app' },
        workspaceConnection: 'prodTemp',
        secretEnv: 'DBFERRY_TEST_PULL_SECRET',
        sanitize: { users: { email: { type: 'email', deterministic: true } } },
      },
    },
  }),
);
const pools = new MysqlPools(config);
const r = createPullResources({ config, pools });

/** The failure `fn` throws, so its type and retryability can be checked. */
function failureOf(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApplicationFailure) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

afterEach(() => {
  delete process.env.DBFERRY_TEST_PULL_SECRET;
});
afterAll(() => pools.close());

describe('pull resources', () => {
  it('finds a profile by name and refuses an unknown one, inherited names included', () => {
    expect(r.profileOf('plain').source.database).toBe('app');
    for (const name of ['nope', 'toString', '__proto__']) {
      const failure = failureOf(() => r.profileOf(name));
      expect(failure).toMatchObject({ type: 'InvalidRequest', nonRetryable: true });
      expect(failure.message).toContain(`no pull profile named "${name}"`);
    }
  });

  it('gives the pool of a configured connection and refuses an unknown connection', () => {
    expect(r.pool('dev')).toBe(pools.get('dev'));
    expect(failureOf(() => r.pool('elsewhere'))).toMatchObject({ type: 'InvalidRequest', nonRetryable: true });
  });

  it('needs a secret of at least 16 characters only for a profile with deterministic rules', () => {
    expect(r.secretOf('plain', r.profileOf('plain'))).toBeNull();
    const keyed = r.profileOf('keyed');
    expect(failureOf(() => r.secretOf('keyed', keyed))).toMatchObject({ type: 'InvalidProfile', nonRetryable: true });
    process.env.DBFERRY_TEST_PULL_SECRET = 'too-short';
    expect(failureOf(() => r.secretOf('keyed', keyed)).message).toBe(
      'pulls.keyed.secretEnv: environment variable DBFERRY_TEST_PULL_SECRET must be set on the worker to a secret of at least 16 characters',
    );
    process.env.DBFERRY_TEST_PULL_SECRET = 'a-secret-of-enough-length';
    expect(r.secretOf('keyed', keyed)).toBe('a-secret-of-enough-length');
  });

  it('creates the workspace through the source connection unless the profile names another', () => {
    expect(r.workspaceConnectionOf(r.profileOf('plain'))).toBe('prod');
    expect(r.workspaceConnectionOf(r.profileOf('keyed'))).toBe('prodTemp');
  });

  it('keeps each pull’s dump directory and pid files in the worker’s workDir', () => {
    expect(r.pullDir('p1')).toBe('/var/dbferry/pull-p1');
    expect(r.pidFile('p1', 'mydumper-direct')).toBe('/var/dbferry/pull-p1.mydumper-direct.pid');
  });
});
