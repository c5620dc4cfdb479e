// Launches `temporal server start-dev` for `dbferry dev` and tests, and waits until it is really usable.
import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { connect as tcpConnect, createServer, type AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';

export interface TemporalDevServerOptions {
  port?: number;
  uiPort?: number;
  headless?: boolean;
  dbFile?: string;
  namespace?: string;
  searchAttributes?: string[];
  logFile?: string;
}

export interface TemporalDevServer {
  address: string;
  uiUrl: string | null;
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 10_000;

export function findTemporalBinary(): string {
  const fromEnv = process.env.TEMPORAL_CLI;
  // An explicit override that points nowhere is a mistake worth reporting, not silently skipping.
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new Error(`TEMPORAL_CLI=${fromEnv} does not exist; unset it or run scripts/setup.sh`);
  }
  // GOPATH may be a list; go install writes into the first entry.
  const inGopath = (gopath: string) => join(gopath.split(delimiter)[0] ?? gopath, 'bin', 'temporal');
  const guess = inGopath(process.env.GOPATH ?? join(homedir(), 'go'));
  if (existsSync(guess)) return guess;
  try {
    const fromGo = inGopath(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim());
    if (existsSync(fromGo)) return fromGo;
  } catch {
    // go not installed: fall through to PATH.
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'temporal'))) return join(dir, 'temporal');
  }
  throw new Error('Temporal CLI not found ($TEMPORAL_CLI, $(go env GOPATH)/bin/temporal, PATH): run scripts/setup.sh');
}

// Binding port 0 lets the kernel pick a free port; there is a small race until temporal binds it.
// With an explicit port it checks the port is free, so we never mistake another server for ours.
function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().on('error', (err) => reject(new Error(`port ${port} is not free: ${err.message}`)));
    srv.listen(port, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = tcpConnect({ host: '127.0.0.1', port });
    sock.once('connect', () => (sock.destroy(), resolve(true)));
    sock.once('error', () => (sock.destroy(), resolve(false)));
  });
}

export async function startTemporalDevServer(opts: TemporalDevServerOptions = {}): Promise<TemporalDevServer> {
  const port = await freePort(opts.port);
  const uiPort = opts.headless ? null : (opts.uiPort ?? (await freePort()));
  const namespace = opts.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port)];
  args.push(...(uiPort === null ? ['--headless'] : ['--ui-port', String(uiPort)]));
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  args.push('--namespace', namespace, '--log-level', 'warn');
  for (const sa of opts.searchAttributes ?? []) args.push('--search-attribute', sa.includes('=') ? sa : `${sa}=Keyword`);

  const child = spawn(findTemporalBinary(), args, { detached: false, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : null;
  // Keep the last stderr lines so a failed start can say why.
  const stderrTail: string[] = [];
  child.stdout.on('data', (b: Buffer) => log?.write(b));
  child.stderr.on('data', (b: Buffer) => {
    log?.write(b);
    stderrTail.push(...b.toString('utf8').split('\n').filter(Boolean));
    stderrTail.splice(0, Math.max(0, stderrTail.length - 20));
  });
  let exited: string | null = null;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => ((exited = `exited with ${signal ?? `code ${code}`}`), resolve()));
    child.once('error', (err) => ((exited = `failed to spawn: ${err.message}`), resolve()));
  });
  // A dev server must never outlive the process that started it.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  // Memoized so a second stop() (e.g. test teardown after a failure) just waits for the first.
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopChild());
  const stopChild = async () => {
    process.off('exit', killOnExit);
    if (exited === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exitedPromise;
      clearTimeout(timer);
    }
    await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  };

  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + START_TIMEOUT_MS;
  const fail = async (what: string): Promise<never> => {
    const why = exited ?? `not ready after ${START_TIMEOUT_MS / 1000}s`;
    await stop();
    throw new Error(`temporal dev server on ${address} ${why} (${what}); last stderr:\n${stderrTail.join('\n')}`);
  };
  // Retries fn until it returns true, the child dies, or the deadline passes.
  const waitFor = async (what: string, fn: () => Promise<boolean>) => {
    for (;;) {
      if (exited !== null || Date.now() > deadline) return fail(what);
      // A hung attempt (e.g. an RPC that never answers) must not outlive the deadline.
      const attempt = Promise.race([fn(), sleep(3_000, false, { ref: false })]);
      if (await attempt.catch(() => false)) return;
      await sleep(200);
    }
  };

  await waitFor('frontend port', () => tcpOpen(port));
  let connection: Connection | undefined;
  try {
    await waitFor('gRPC frontend', async () => {
      connection ??= await Connection.connect({ address, connectTimeout: 2_000 });
      const c = connection;
      await c.withDeadline(Date.now() + 2_000, () => c.workflowService.getSystemInfo({}));
      await c.withDeadline(Date.now() + 2_000, () => c.workflowService.describeNamespace({ namespace }));
      return true;
    });
    // Registration happens at start, but wait until the frontend actually reports every attribute.
    const wanted = (opts.searchAttributes ?? []).map((sa) => sa.split('=')[0] ?? sa);
    await waitFor(`search attributes ${wanted.join(',')}`, async () => {
      if (wanted.length === 0 || !connection) return true;
      const c = connection;
      const { customAttributes } = await c.withDeadline(Date.now() + 2_000, () => c.operatorService.listSearchAttributes({ namespace }));
      return wanted.every((name) => customAttributes && name in customAttributes);
    });
  } finally {
    await connection?.close();
  }
  return { address, uiUrl: uiPort === null ? null : `http://127.0.0.1:${uiPort}`, stop };
}
