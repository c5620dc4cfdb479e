import { describe, expect, it } from 'vitest';
import { parseConfig, ConfigError } from '../../src/config/load.ts';

const valid = {
  connections: {
    prod: { host: 'db', port: 3306, user: 'ferry', passwordEnv: 'PROD_PW' },
    dev: { socket: '/run/mysqld.sock', user: 'root', allowWrite: true },
  },
  control: { connection: 'dev' },
};
const parse = (over: unknown) => () => parseConfig(JSON.stringify(over));

describe('config parsing', () => {
  it('accepts a valid file and fills defaults', () => {
    const config = parseConfig(JSON.stringify(valid));
    expect(config.connections.prod).toMatchObject({ flavor: 'mariadb', allowWrite: false });
    expect(config.control.database).toBe('dbferry_control');
    expect(config.taskQueue).toBe('dbferry');
  });

  it.each([
    [
      'a port out of range',
      { ...valid, connections: { ...valid.connections, prod: { ...valid.connections.prod, port: 70000 } } },
      /connections\.prod\.port: /,
    ],
    [
      'neither host nor socket',
      { ...valid, connections: { ...valid.connections, prod: { user: 'x' } } },
      /connections\.prod\.host: either host or socket/,
    ],
    [
      'both passwordEnv and passwordFile',
      { ...valid, connections: { ...valid.connections, prod: { ...valid.connections.prod, passwordFile: '/x' } } },
      /connections\.prod\.passwordFile: /,
    ],
    [
      'a plain password field',
      { ...valid, connections: { ...valid.connections, prod: { ...valid.connections.prod, password: 'hunter2' } } },
      /connections\.prod: .*password/,
    ],
    [
      'an unknown flavor',
      { ...valid, connections: { ...valid.connections, prod: { ...valid.connections.prod, flavor: 'postgres' } } },
      /connections\.prod\.flavor: /,
    ],
    [
      'a control connection that does not exist',
      { ...valid, control: { connection: 'nope' } },
      /control\.connection: no connection named "nope"/,
    ],
    ['a hostile control database name', { ...valid, control: { connection: 'dev', database: 'x`y' } }, /control\.database: /],
    [
      'a hostile connection name',
      { ...valid, connections: { 'a b': valid.connections.dev }, control: { connection: 'a b' } },
      /connections\.a b: /,
    ],
  ])('names the field for %s', (_label, config, message) => {
    expect(parse(config)).toThrow(ConfigError);
    expect(parse(config)).toThrow(message);
  });

  it('reports JSON syntax errors with the file name', () => {
    expect(() => parseConfig('{', '/etc/dbferry.json')).toThrow(/^\/etc\/dbferry\.json: not valid JSON/);
  });
});
