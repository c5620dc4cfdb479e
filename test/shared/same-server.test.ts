// "The same server" by the servers' identities: the control-schema guard and the source-is-destination
// check through connections whose host strings differ, and the destination lock id built from the identity.
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { findCopyRequestProblem, findSameServerProblem, type SameServer } from '../../src/shared/copy-rules.ts';
import { ServerIdentities, readServerIdentity, type ServerIdentity } from '../../src/activities/mysql/server-identity.ts';
import { destinationLock, serverDestinationLock } from '../../src/api/runs/locks.ts';

const config = parseConfig(
  JSON.stringify({
    connections: {
      control: { host: '127.0.0.1', port: 3306, user: 'ferry', allowWrite: true },
      alias: { socket: '/run/mysqld/mysqld.sock', user: 'ferry', allowWrite: true },
      other: { host: 'db2.internal', user: 'ferry', allowWrite: true },
    },
    control: { connection: 'control', database: 'dbferry_control' },
  }),
);
// `control` and `alias` reach one server; `other` another.
const serverOf: Record<string, string> = { control: 'vm:3306:1', alias: 'vm:3306:1', other: 'db2:3306:1' };
const sameServer: SameServer = async (a, b) => serverOf[a] === serverOf[b];

describe('same-server checks by identity', () => {
  it('refuses the control schema through another connection to its server, as source or destination, in any case', async () => {
    // The config alone cannot tell: a socket and 127.0.0.1.
    const viaAlias = {
      source: { connection: 'other', database: 'shop' },
      destination: { connection: 'alias', database: 'DBferry_Control' },
    };
    expect(findCopyRequestProblem(config, viaAlias)).toBeNull();
    expect(await findSameServerProblem(config, sameServer, viaAlias)).toMatchObject({ field: 'destination.database', kind: 'forbidden' });
    const fromAlias = { source: { connection: 'alias', database: 'dbferry_control' }, destination: { connection: 'other', database: 'x' } };
    expect(await findSameServerProblem(config, sameServer, fromAlias)).toMatchObject({ field: 'source.database', kind: 'forbidden' });
    expect(
      await findSameServerProblem(config, sameServer, { destination: { connection: 'other', database: 'dbferry_control' } }),
    ).toBeNull();
  });

  it('refuses a copy onto its own source through two connections to one server', async () => {
    const req = { source: { connection: 'control', database: 'shop' }, destination: { connection: 'alias', database: 'shop' } };
    expect(await findSameServerProblem(config, sameServer, req)).toMatchObject({ field: 'destination', kind: 'invalid' });
    expect(await findSameServerProblem(config, sameServer, { ...req, destination: { connection: 'other', database: 'shop' } })).toBeNull();
  });
});

describe('server identities', () => {
  const fakePool = (answers: Record<string, unknown>, calls: string[]) => ({
    query: async (sql: string) => {
      calls.push(sql);
      if (sql.includes('server_uuid')) {
        if (!('uuid' in answers)) throw Object.assign(new Error('Unknown system variable'), { errno: 1193 });
        return [[{ uuid: answers.uuid }]];
      }
      return [[{ hostname: 'vm', port: 3306, serverId: 1, lowerCaseNames: answers.lower ?? 0 }]];
    },
  });

  it('is the server_uuid on MySQL, hostname:port:server_id on MariaDB', async () => {
    expect(await readServerIdentity(fakePool({ uuid: '3e11fa47-71ca-11e1-9e33-c80aa9429562' }, []) as never)).toEqual({
      key: 'uuid:3e11fa47-71ca-11e1-9e33-c80aa9429562',
      caseInsensitiveNames: false,
    });
    expect(await readServerIdentity(fakePool({ lower: 1 }, []) as never)).toEqual({ key: 'vm:3306:1', caseInsensitiveNames: true });
  });

  it('is read once per connection, and a failed read is tried again', async () => {
    const calls: string[] = [];
    let down = true;
    const pool = fakePool({}, calls);
    const identities = new ServerIdentities({
      get: () =>
        ({
          query: async (sql: string) => {
            if (down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:3306 (user secret)'), { code: 'ECONNREFUSED' });
            return pool.query(sql);
          },
        }) as never,
    });
    const failure = await identities.of('control').catch((e: Error) => e);
    expect(String(failure)).toMatch(/could not reach the server of connection "control" to identify it \(ECONNREFUSED\)/);
    expect(String(failure)).not.toContain('secret');
    down = false;
    expect((await identities.of('control')).key).toBe('vm:3306:1');
    await identities.of('control');
    expect(calls.filter((c) => c.includes('@@hostname'))).toHaveLength(1);
    expect(await identities.same('control', 'alias')).toBe(true);
  });

  it('builds the destination lock from the identity (lower-casing the database where the server does)', async () => {
    const identity = (key: string, caseInsensitiveNames = false): ServerIdentity => ({ key, caseInsensitiveNames });
    const servers = {
      of: async (name: string) => (name === 'ci' ? identity('win:3306:2', true) : identity(serverOf[name]!)),
    } as ServerIdentities;
    const a = await serverDestinationLock(servers, { connection: 'control', database: 'Shop' });
    const b = await serverDestinationLock(servers, { connection: 'alias', database: 'Shop' });
    expect(a.workflowId).toBe('copy:vm:3306:1/Shop');
    expect(b.workflowId).toBe(a.workflowId);
    expect(b.holder).toBe(destinationLock({ connection: 'alias', database: 'Shop' }).holder); // the 409 names the connection asked for
    expect((await serverDestinationLock(servers, { connection: 'ci', database: 'Shop' })).workflowId).toBe('copy:win:3306:2/shop');
  });
});
