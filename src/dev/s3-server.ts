// Launches versitygw (an S3-compatible gateway over a plain directory) for `dbferry dev` and tests,
// and waits until it really answers S3 calls.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';

/** Where the server listens and keeps its buckets; everything is optional. */
export interface S3ServerOptions {
  port?: number;
  /** Kept on stop; without it a fresh temp directory is created and removed on stop. */
  dataDir?: string;
  logFile?: string;
  /** Root credentials; random when absent. A restart that must keep its clients working passes the old ones. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** A running server: how to reach it, its root credentials, and how to stop it. */
export interface S3Server {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  dataDir: string;
  stop(): Promise<void>;
}

const BINARY = 'versitygw';
const REGION = 'us-east-1';
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;

/** The versitygw binary: $S3_SERVER_BIN, $(go env GOPATH)/bin/versitygw, or PATH. */
export function findS3ServerBinary(): string {
  const fromEnv = process.env.S3_SERVER_BIN;
  if (fromEnv) {
    if (existsSync(fromEnv)) return fromEnv;
    throw new Error(`S3_SERVER_BIN=${fromEnv} does not exist; unset it or run scripts/setup.sh`);
  }
  const inGopath = (gopath: string) => join(gopath.split(delimiter)[0] ?? gopath, 'bin', BINARY);
  const guess = inGopath(process.env.GOPATH ?? join(homedir(), 'go'));
  if (existsSync(guess)) return guess;
  try {
    const fromGo = inGopath(execFileSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).trim());
    if (existsSync(fromGo)) return fromGo;
  } catch {
    // go not installed: fall through to PATH.
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, BINARY))) return join(dir, BINARY);
  }
  throw new Error(`S3 server not found ($S3_SERVER_BIN, $(go env GOPATH)/bin/${BINARY}, PATH): run scripts/setup.sh`);
}

// Same trick as the Temporal dev server: let the kernel pick, or check an explicit port is free.
function freePort(port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer().on('error', (err) => reject(new Error(`port ${port} is not free: ${err.message}`)));
    srv.listen(port, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts versitygw on 127.0.0.1 with random root credentials; resolves once ListBuckets succeeds. */
export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3Server> {
  const port = await freePort(opts.port);
  const ownsDataDir = !opts.dataDir;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'dbferry-s3-')));
  await mkdir(dataDir, { recursive: true });
  const accessKeyId = opts.credentials?.accessKeyId ?? `dbferry${randomBytes(8).toString('hex')}`;
  const secretAccessKey = opts.credentials?.secretAccessKey ?? randomBytes(24).toString('base64url');
  const endpoint = `http://127.0.0.1:${port}`;

  // Credentials go through the environment, never argv, so `ps` does not show them.
  const child = spawn(findS3ServerBinary(), ['--port', `127.0.0.1:${port}`, '--region', REGION, 'posix', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
  });
  const log = opts.logFile ? createWriteStream(opts.logFile, { flags: 'a' }) : null;
  // versitygw logs one line per request on stdout and its failures on stderr; keep the tail of both.
  const outputTail: string[] = [];
  const keep = (b: Buffer) => {
    log?.write(b);
    outputTail.push(...b.toString('utf8').split('\n').filter(Boolean));
    outputTail.splice(0, Math.max(0, outputTail.length - 20));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: string | null = null;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => ((exited = `exited with ${signal ?? `code ${code}`}`), resolve()));
    child.once('error', (err) => ((exited = `failed to spawn: ${err.message}`), resolve()));
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

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
    if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
  };

  const client = new S3Client({
    endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts: 1,
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastError = '';
  try {
    for (;;) {
      if (exited !== null || Date.now() > deadline) {
        const why = exited ?? `not answering ListBuckets after ${START_TIMEOUT_MS / 1000}s (last error: ${lastError})`;
        await stop();
        throw new Error(`S3 server on ${endpoint} ${why}; last output:\n${outputTail.join('\n')}`);
      }
      try {
        await client.send(new ListBucketsCommand({}), { abortSignal: AbortSignal.timeout(2_000) });
        break;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        await sleep(100);
      }
    }
  } finally {
    client.destroy();
  }
  return { endpoint, accessKeyId, secretAccessKey, region: REGION, dataDir, stop };
}
