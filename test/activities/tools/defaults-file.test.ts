// The option file that carries credentials to the tools.
import { describe, expect, it } from 'vitest';
import { defaultsFileBody } from '../../../src/activities/tools/tools.ts';

describe('the option file handed to the tools', () => {
  it('quotes the password, carries the connection and adds tool-specific groups', () => {
    process.env.DBFERRY_T_UNIT_PW = 'p"a\\ss word';
    const body = defaultsFileBody(
      'prod',
      { host: 'db', port: 3307, user: 'ferry', passwordEnv: 'DBFERRY_T_UNIT_PW', flavor: 'mariadb', allowWrite: false },
      { myloader: ['init-command=SET SESSION innodb_lock_wait_timeout=86400'] },
    );
    expect(body).toBe(
      [
        '[client]',
        'user="ferry"',
        'password="p\\"a\\\\ss word"',
        'host="db"',
        'port=3307',
        '[myloader]',
        'init-command=SET SESSION innodb_lock_wait_timeout=86400',
        '',
      ].join('\n'),
    );
  });
});
