import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { findCopyRequestProblem, findDestinationProblem } from '../../src/shared/copy-rules.ts';

const config = parseConfig(
  JSON.stringify({
    connections: {
      prod: { host: 'db.internal', user: 'ferry' },
      staging: { host: 'db.internal', user: 'ferry', allowWrite: true },
      other: { host: 'db2.internal', user: 'ferry', allowWrite: true },
    },
    control: { connection: 'staging', database: 'dbferry_control' },
  }),
);

describe('the destination rules shared by copies and restores', () => {
  it('refuses unknown connections (including Object prototype names), read-only ones and the control schema through any connection to its server', () => {
    for (const connection of ['nope', 'constructor', '__proto__', 'toString']) {
      expect(findDestinationProblem(config, { connection, database: 'x' })).toMatchObject({
        field: 'destination.connection',
        kind: 'invalid',
      });
      expect(
        findCopyRequestProblem(config, { source: { connection, database: 'x' }, destination: { connection: 'staging', database: 'y' } }),
      ).toMatchObject({ field: 'source.connection', kind: 'invalid' });
    }
    expect(findDestinationProblem(config, { connection: 'prod', database: 'x' })).toMatchObject({
      kind: 'forbidden',
      message: /does not allow writes/,
    });
    expect(findDestinationProblem(config, { connection: 'staging', database: 'dbferry_control' })).toMatchObject({
      kind: 'forbidden',
      message: /control schema/,
    });
    expect(findDestinationProblem(config, { connection: 'other', database: 'dbferry_control' })).toBeNull(); // another server
    expect(findDestinationProblem(config, { connection: 'staging', database: 'shop' })).toBeNull();
  });

  it('lets a restore target its backup’s own source database, but not a copy', () => {
    const shop = { connection: 'staging', database: 'shop' };
    expect(findDestinationProblem(config, shop)).toBeNull();
    expect(findCopyRequestProblem(config, { source: shop, destination: shop })).toMatchObject({ field: 'destination', kind: 'invalid' });
  });
});
