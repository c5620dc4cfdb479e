import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.ts';
import { findCopyRequestProblem, findDestinationProblem, findSourceProblem } from '../../src/shared/copy-rules.ts';

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

  it('refuses the system schemas, in any case, as a destination and as a copy source', () => {
    const spellings = ['mysql', 'MySQL', 'MYSQL', 'sys', 'SYS', 'Sys', 'performance_schema', 'Performance_Schema', 'PERFORMANCE_SCHEMA'];
    spellings.push('information_schema', 'Information_Schema', 'INFORMATION_SCHEMA');
    const shop = { connection: 'staging', database: 'shop' };
    for (const database of spellings) {
      for (const connection of ['staging', 'other']) {
        const ref = { connection, database };
        expect(findDestinationProblem(config, ref), `${connection}/${database}`).toMatchObject({
          field: 'destination.database',
          kind: 'forbidden',
          message: /system schema/,
        });
        expect(findCopyRequestProblem(config, { source: shop, destination: ref }), `${connection}/${database}`).toMatchObject({
          field: 'destination.database',
          kind: 'forbidden',
          message: /system schema/,
        });
        expect(findCopyRequestProblem(config, { source: ref, destination: shop }), `${connection}/${database}`).toMatchObject({
          field: 'source.database',
          kind: 'forbidden',
          message: /system schema/,
        });
      }
      // A read-only connection is a fine copy source, but never for a system schema.
      expect(findCopyRequestProblem(config, { source: { connection: 'prod', database }, destination: shop })).toMatchObject({
        field: 'source.database',
        kind: 'forbidden',
      });
    }
    // Names that merely contain a system schema's name are ordinary databases.
    for (const database of ['mysql_app', 'my_sys', 'sys2', 'information_schema_copy']) {
      expect(findDestinationProblem(config, { connection: 'staging', database })).toBeNull();
      expect(findCopyRequestProblem(config, { source: { connection: 'staging', database }, destination: shop })).toBeNull();
    }
  });

  it('refuses the control schema, in any case, as a destination and as a copy source', () => {
    const shop = { connection: 'other', database: 'shop' };
    for (const database of ['dbferry_control', 'DBFerry_Control', 'DBFERRY_CONTROL']) {
      const control = { connection: 'staging', database };
      expect(findDestinationProblem(config, control)).toMatchObject({
        field: 'destination.database',
        kind: 'forbidden',
        message: /control schema/,
      });
      expect(findCopyRequestProblem(config, { source: control, destination: shop })).toMatchObject({
        field: 'source.database',
        kind: 'forbidden',
        message: /control schema/,
      });
      expect(findCopyRequestProblem(config, { source: shop, destination: control })).toMatchObject({
        field: 'destination.database',
        kind: 'forbidden',
      });
      // Through a read-only connection to the same server, it is still the control schema.
      expect(findCopyRequestProblem(config, { source: { connection: 'prod', database }, destination: shop })).toMatchObject({
        field: 'source.database',
        message: /control schema/,
      });
    }
    // The same name on another server is an ordinary database.
    expect(
      findCopyRequestProblem(config, {
        source: { connection: 'other', database: 'dbferry_control' },
        destination: { connection: 'staging', database: 'x' },
      }),
    ).toBeNull();
  });
});

describe('the source rules shared by backups and pulls', () => {
  it('refuses a system schema or the control schema as a backup source, in any case, naming source.database', () => {
    for (const database of ['mysql', 'MySQL', 'sys', 'performance_schema', 'INFORMATION_SCHEMA', config.control.database.toUpperCase()]) {
      expect(findSourceProblem(config, { connection: config.control.connection, database }), database).toMatchObject({
        field: 'source.database',
        kind: 'forbidden',
      });
    }
    expect(findSourceProblem(config, { connection: 'nope', database: 'shop' })).toMatchObject({
      field: 'source.connection',
      kind: 'invalid',
    });
    expect(findSourceProblem(config, { connection: config.control.connection, database: 'shop' })).toBeNull();
  });

  it('refuses a pull profile whose source or destination is a system schema, naming the field', () => {
    const text = (source: string, destination: string) =>
      JSON.stringify({
        connections: { a: { host: 'h', user: 'u', allowWrite: true } },
        control: { connection: 'a' },
        pulls: { p: { source: { connection: 'a', database: source }, destination: { connection: 'a', database: destination } } },
      });
    expect(() => parseConfig(text('MySQL', 'dev'), 'cfg')).toThrow(/pulls\.p\.source\.database: "MySQL" is a system schema/);
    expect(() => parseConfig(text('shop', 'sys'), 'cfg')).toThrow(/pulls\.p\.destination\.database: "sys" is a system schema/);
  });
});
