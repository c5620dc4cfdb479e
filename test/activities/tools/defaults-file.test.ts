// The option file that carries credentials and TLS settings to the tools.
import { describe, expect, it } from 'vitest';
import { defaultsFileBody, tlsOptions } from '../../../src/activities/tools/tools.ts';

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

describe('the TLS settings in the option file', () => {
  process.env.DBFERRY_T_UNIT_TLS_PW = 'pw';
  const conn = {
    host: 'db',
    port: 3306,
    user: 'ferry',
    passwordEnv: 'DBFERRY_T_UNIT_TLS_PW',
    flavor: 'mariadb' as const,
    allowWrite: false,
  };
  const groups = (body: string): Record<string, string[]> => {
    const out: Record<string, string[]> = {};
    let current = '';
    for (const line of body.trim().split('\n')) {
      const header = /^\[(.+)\]$/.exec(line);
      if (header) {
        expect(out[header[1]!], `group [${header[1]}] written twice`).toBeUndefined();
        out[(current = header[1]!)] = [];
      } else out[current]!.push(line);
    }
    return out;
  };

  it('writes nothing about TLS for a connection without tls', () => {
    expect(Object.keys(groups(defaultsFileBody('prod', conn)))).toEqual(['client']);
    expect(tlsOptions(conn)).toEqual({});
  });

  it('verifies the server certificate by default: CA, client certificate, host name check, TLS forced for mydumper and myloader', () => {
    const body = groups(
      defaultsFileBody('prod', { ...conn, tls: { ca: '/etc/ssl/db "ca".pem', cert: '/c.pem', key: '/k.pem', rejectUnauthorized: true } }),
    );
    expect(body).toEqual({
      client: [
        'user="ferry"',
        'password="pw"',
        'host="db"',
        'port=3306',
        'ssl-ca="/etc/ssl/db \\"ca\\".pem"',
        'ssl-cert="/c.pem"',
        'ssl-key="/k.pem"',
      ],
      'client-mariadb': ['ssl=1', 'ssl-verify-server-cert=1'],
      mydumper: ['ssl-enforce=1'],
      myloader: ['ssl-enforce=1'],
    });
  });

  it('verifies against the system CAs when no ca is given', () => {
    const body = groups(defaultsFileBody('prod', { ...conn, tls: { rejectUnauthorized: true } }));
    expect(body.client!.some((l) => l.startsWith('ssl-'))).toBe(false);
    expect(body['client-mariadb']).toEqual(['ssl=1', 'ssl-verify-server-cert=1']);
  });

  it('encrypts without verifying when rejectUnauthorized is false (the CA is not passed on, as the pool does not check it)', () => {
    const body = groups(
      defaultsFileBody('prod', { ...conn, tls: { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem', rejectUnauthorized: false } }),
    );
    expect(body.client).toEqual(['user="ferry"', 'password="pw"', 'host="db"', 'port=3306', 'ssl-cert="/c.pem"', 'ssl-key="/k.pem"']);
    expect(body['client-mariadb']).toEqual(['ssl=1', 'ssl-verify-server-cert=0']);
    expect(body.mydumper).toEqual(['ssl-enforce=1']);
  });

  it('merges tool groups with the TLS groups (one [myloader] group), and speaks MySQL to xtrabackup for the mysql flavor', () => {
    const body = groups(
      defaultsFileBody(
        'prod',
        { ...conn, flavor: 'mysql', tls: { ca: '/ca.pem', rejectUnauthorized: true } },
        { myloader: ['init-command=SET SESSION innodb_lock_wait_timeout=86400'] },
      ),
    );
    expect(body.myloader).toEqual(['ssl-enforce=1', 'init-command=SET SESSION innodb_lock_wait_timeout=86400']);
    expect(body.xtrabackup).toEqual(['loose-ssl-mode=VERIFY_IDENTITY']);
  });
});
