// `dbferry worker` as a child process, for the crash tests (which SIGKILL it) and the benches.
import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Starts `dbferry worker` as its own process (what the crash tests kill with SIGKILL, and what the
 * benches time apart from themselves) with `configPath` and `env` added to this process's
 * environment, and resolves once it polls its task queue.
 */
export async function spawnWorkerProcess(configPath: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['bin/dbferry.js', 'worker'], {
    env: { ...process.env, ...env, DBFERRY_CONFIG: configPath },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start:\n${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('dbferry worker: polling')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}:\n${output}`)));
  });
  return child;
}
