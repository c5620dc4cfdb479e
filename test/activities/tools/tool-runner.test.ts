// The one tool runner with real processes: pid files, the orphan killer, output tails, cancellation,
// the environment tools get, and the cached version probe.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isRunning, killOrphanedTool, runTool, startTool, toolVersion } from '../../../src/activities/tools/tools.ts';

const exists = (path: string) =>
  readFile(path).then(
    () => true,
    () => false,
  );
const waitFor = async (condition: () => Promise<boolean> | boolean, timeoutMs = 3000) => {
  for (const deadline = Date.now() + timeoutMs; !(await condition());) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
};

let dir: string;
const strays: ChildProcess[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dbferry-tools-'));
  // A long-running process whose command line says `mydumper`: what an orphan of a dead attempt looks like.
  await symlink('/bin/sleep', join(dir, 'mydumper'));
});
afterEach(() => {
  for (const child of strays.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Starts `command args` outside the runner, as a dead worker's tool would be left: only its pid file remains. */
async function leftBehind(command: string, args: string[], pidFile: string): Promise<number> {
  const child = spawn(command, args, { stdio: 'ignore' });
  strays.push(child);
  await new Promise((resolve) => child.once('spawn', resolve));
  await writeFile(pidFile, String(child.pid));
  return child.pid!;
}

describe('runTool', () => {
  it('keeps the tool’s pid in its pid file while it runs, and removes the file when it exits', async () => {
    const pidFile = join(dir, 'run.pid');
    const tail = await runTool({
      command: 'sh',
      args: ['-c', 'sleep 0.3; echo "file $(cat "$0")"; echo "self $$"', pidFile],
      pidFile,
      signal: new AbortController().signal,
    });
    const [file, self] = tail.map((line) => line.split(' ')[1]);
    expect(file).toBe(self);
    expect(await exists(pidFile)).toBe(false);
  });

  it('reads stdout and stderr as lines, leaves out what onLine refuses, and keeps a last line without newline', async () => {
    const seen: string[] = [];
    const tail = await runTool({
      command: 'sh',
      args: ['-c', 'echo out; echo "progress 50%" >&2; echo err >&2; printf last'],
      signal: new AbortController().signal,
      onLine: (line) => (seen.push(line), !line.startsWith('progress')),
    });
    expect(tail.sort()).toEqual(['err', 'last', 'out']);
    expect(seen).toContain('progress 50%');
  });

  it('fails with the tool’s own words, permanent when retrying cannot help', async () => {
    const run = (script: string) => runTool({ command: 'sh', args: ['-c', script], signal: new AbortController().signal });
    await expect(run('echo "** (mydumper): CRITICAL: Error connecting: Access denied for user" >&2; exit 1')).rejects.toMatchObject({
      message: expect.stringMatching(/^sh failed \(exit 1\): .*Access denied for user$/),
      type: 'AuthenticationFailed',
      nonRetryable: true,
    });
    await expect(run('echo "disk full" >&2; exit 3')).rejects.toMatchObject({
      message: 'sh failed (exit 3): disk full',
      type: 'ToolFailed',
      nonRetryable: false,
    });
    await expect(runTool({ command: join(dir, 'no-such-tool'), args: [], signal: new AbortController().signal })).rejects.toMatchObject({
      type: 'ToolMissing',
      nonRetryable: true,
    });
  });

  it('stops the tool when the activity is cancelled, with the cancellation as the reason, and removes its pid file', async () => {
    const pidFile = join(dir, 'cancel.pid');
    const abort = new AbortController();
    const running = runTool({ command: 'sleep', args: ['30'], pidFile, signal: abort.signal });
    await waitFor(() => exists(pidFile));
    const pid = Number(await readFile(pidFile, 'utf8'));
    const started = Date.now();
    abort.abort(new Error('cancelled by the workflow'));
    await expect(running).rejects.toThrow('cancelled by the workflow');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(isRunning(pid)).toBe(false);
    expect(await exists(pidFile)).toBe(false);
  });

  it('gives tools the locale and the search path, never the worker’s secrets', async () => {
    process.env.DBFERRY_T_RUNNER_SECRET = 'hunter2';
    try {
      const tail = await runTool({ command: 'env', args: [], signal: new AbortController().signal });
      expect(tail).toContain('LC_ALL=C');
      expect(tail.some((line) => line.startsWith('PATH='))).toBe(true);
      expect(tail.join('\n')).not.toContain('hunter2');
    } finally {
      delete process.env.DBFERRY_T_RUNNER_SECRET;
    }
  });

  it('does not let a tool run whose pid file cannot be written (a crash would leave an orphan no retry finds)', async () => {
    const started = Date.now();
    await expect(
      runTool({ command: 'sleep', args: ['30'], pidFile: join(dir, 'missing-dir', 'x.pid'), signal: new AbortController().signal }),
    ).rejects.toThrow(/could not write its pid file/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('killOrphanedTool', () => {
  it('kills the tool a dead attempt left running and removes its pid file', async () => {
    const pidFile = join(dir, 'orphan.pid');
    const pid = await leftBehind(join(dir, 'mydumper'), ['30'], pidFile);
    await killOrphanedTool(pidFile);
    expect(isRunning(pid)).toBe(false);
    expect(await exists(pidFile)).toBe(false);
  });

  it('kills a tool started by the runner, found through the pid file the runner wrote', async () => {
    const pidFile = join(dir, 'runner-orphan.pid');
    const tool = startTool(join(dir, 'mydumper'), ['30'], { signal: new AbortController().signal, pidFile, stdout: 'ignore' });
    await waitFor(() => exists(pidFile));
    await killOrphanedTool(pidFile);
    await expect(tool.done).rejects.toThrow(/killed by SIGKILL/);
  });

  it('leaves alone a process that is not one of dbferry’s tools (its pid was given to another program)', async () => {
    const pidFile = join(dir, 'reused.pid');
    const pid = await leftBehind('sleep', ['30'], pidFile);
    await killOrphanedTool(pidFile);
    expect(isRunning(pid)).toBe(true);
    expect(await exists(pidFile)).toBe(false);
  });

  it('leaves alone a tool whose command line does not match what the caller expects', async () => {
    const pidFile = join(dir, 'other-tool.pid');
    const pid = await leftBehind(join(dir, 'mydumper'), ['30'], pidFile);
    await killOrphanedTool(pidFile, /myloader/);
    expect(isRunning(pid)).toBe(true);
    await killOrphanedTool((await writeFile(pidFile, String(pid)), pidFile), /mydumper/);
    expect(isRunning(pid)).toBe(false);
  });

  it('does nothing for a missing, empty or garbled pid file, or one of a process that is gone', async () => {
    await expect(killOrphanedTool(join(dir, 'never-written.pid'))).resolves.toBeUndefined();
    for (const content of ['', 'not a pid', '-1', '999999999']) {
      const pidFile = join(dir, 'garbled.pid');
      await writeFile(pidFile, content);
      await killOrphanedTool(pidFile);
      expect(await exists(pidFile)).toBe(false);
    }
  });
});

describe('toolVersion', () => {
  it('asks a tool for its version once for the worker’s life, however many callers ask', async () => {
    const tool = join(dir, 'fake-dumper');
    const calls = join(dir, 'fake-dumper.calls');
    await writeFile(tool, `#!/bin/sh\necho called >> "${calls}"\necho "fake-dumper  Ver 1.2.3   Distrib 10.11.19-MariaDB"\n`);
    await chmod(tool, 0o755);
    const versions = await Promise.all([toolVersion(tool), toolVersion(tool), toolVersion(tool)]);
    expect(await toolVersion(tool)).toBe('fake-dumper Ver 1.2.3 Distrib 10.11.19-MariaDB');
    expect(versions).toEqual(Array(3).fill('fake-dumper Ver 1.2.3 Distrib 10.11.19-MariaDB'));
    expect((await readFile(calls, 'utf8')).trim().split('\n')).toEqual(['called']);
  });

  it('reads a version printed on stderr, as mariabackup prints it', async () => {
    const tool = join(dir, 'fake-backup');
    await writeFile(tool, '#!/bin/sh\necho "fake-backup based on MariaDB server 10.11.19-MariaDB" >&2\n');
    await chmod(tool, 0o755);
    expect(await toolVersion(tool)).toBe('fake-backup based on MariaDB server 10.11.19-MariaDB');
  });

  it('names a missing tool and what to install, and finds it once it is installed', async () => {
    const tool = join(dir, 'later-tool');
    await expect(toolVersion(tool, 'the later-tool package')).rejects.toMatchObject({
      message: `${tool} is not installed on this worker (install the later-tool package)`,
      type: 'ToolMissing',
      nonRetryable: true,
    });
    await writeFile(tool, '#!/bin/sh\necho "later-tool 2.0"\n');
    await chmod(tool, 0o755);
    expect(await toolVersion(tool)).toBe('later-tool 2.0');
  });
});
