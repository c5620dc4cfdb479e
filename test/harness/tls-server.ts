// A throwaway mariadbd that speaks TLS (the shared test server has SSL off): certificates made with
// openssl (a CA, a server certificate for 127.0.0.1 only, and another CA that signed nothing), a fresh
// datadir, a loopback port, and a user that the server accepts only over TLS (`REQUIRE SSL`).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';

const run = promisify(execFile);

export interface TlsServer {
  host: '127.0.0.1';
  port: number;
  /** The user that may connect only over TLS, and its password (a test value, in this harness only). */
  user: string;
  password: string;
  /** The CA that signed the server's certificate, and one that did not. */
  ca: string;
  otherCa: string;
  datadir: string;
  /** Its socket, where root gets in without a password (and without TLS). */
  socket: string;
  /** A root session on the server's socket. */
  root(): Promise<mysql.Connection>;
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

async function makeCertificates(dir: string): Promise<void> {
  const openssl = (...args: string[]) => run('openssl', args, { cwd: dir });
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=dbferry test CA',
  );
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'other.key',
    '-out',
    'other-ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=other CA',
  );
  await openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=dbferry test server');
  await writeFile(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  await openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  );
}

/** Starts the server (a few seconds); `stop()` kills it and removes everything. */
export async function startTlsServer(): Promise<TlsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'dbferry-tls-'));
  await makeCertificates(dir);
  const datadir = join(dir, 'data');
  await run('mariadb-install-db', [
    '--no-defaults',
    `--datadir=${datadir}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
  ]);
  // Its own mariadbd rather than the physical restores' temp server, whose event scheduler is DISABLED (mydumper --events needs it).
  const port = await freePort();
  const socket = join(dir, 'mysqld.sock');
  const pidFile = join(dir, 'mysqld.pid');
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults',
      `--datadir=${datadir}`,
      `--socket=${socket}`,
      `--pid-file=${pidFile}`,
      `--log-error=${join(dir, 'error.log')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-log-bin',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=64M',
      `--ssl-ca=${join(dir, 'ca.pem')}`,
      `--ssl-cert=${join(dir, 'server.pem')}`,
      `--ssl-key=${join(dir, 'server.key')}`,
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  child.once('exit', () => (exited = true));
  const stopServer = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await new Promise((resolve) => (exited ? resolve(null) : child.once('exit', resolve)));
    }
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const probe = await mysql.createConnection({ socketPath: socket, user: 'root', password: '' }).catch(() => null);
    if (probe) {
      await probe.end();
      break;
    }
    if (exited || Date.now() > deadline) {
      await stopServer();
      const log = await readFile(join(dir, 'error.log'), 'utf8').catch(() => '');
      await rm(dir, { recursive: true, force: true });
      throw new Error(`the TLS test server did not start: ${log.split('\n').slice(-5).join(' | ')}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const root = () => mysql.createConnection({ socketPath: socket, user: 'root', password: '', multipleStatements: true });
  const user = 'dbferry_t_tls';
  const password = 'tls-test-password';
  const conn = await root();
  try {
    await conn.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}' REQUIRE SSL; GRANT ALL PRIVILEGES ON *.* TO '${user}'@'%'`);
  } finally {
    await conn.end();
  }
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    ca: join(dir, 'ca.pem'),
    otherCa: join(dir, 'other-ca.pem'),
    datadir,
    socket,
    root,
    async stop() {
      await stopServer();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
