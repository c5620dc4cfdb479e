// startPipedTools: `a | b` as a kernel pipe between real processes, with exit codes and cancellation.
import { describe, expect, it } from 'vitest';
import { text } from 'node:stream/consumers';
import { startPipedTools } from '../../../src/activities/tools/tool-process.ts';

describe('startPipedTools', () => {
  it('hands each tool’s stdout to the next one and gives Node only the last one’s', async () => {
    const { tools, stdout } = startPipedTools(
      [
        { command: 'sh', args: ['-c', 'printf "one\\ntwo\\n"'] },
        { command: 'tr', args: ['a-z', 'A-Z'] },
      ],
      { signal: new AbortController().signal },
    );
    expect(await text(stdout)).toBe('ONE\nTWO\n');
    await Promise.all(tools.map((t) => t.done));
  });

  it('fails the tool that exits non-zero with its stderr, leaving progress lines out of the message', async () => {
    const progress: string[] = [];
    const { tools, stdout } = startPipedTools(
      [
        {
          command: 'sh',
          args: ['-c', 'echo "tar: 800" >&2; echo "disk full" >&2; exit 3'],
          onStderrLine: (line) => (line.startsWith('tar: ') ? (progress.push(line), false) : undefined),
        },
        { command: 'cat', args: [] },
      ],
      { signal: new AbortController().signal },
    );
    stdout.resume();
    await expect(tools[0]!.done).rejects.toThrow(/sh failed \(exit 3\): disk full$/);
    await tools[1]!.done;
    expect(progress).toEqual(['tar: 800']);
  });

  it('reports a missing tool as such', async () => {
    const { tools, stdout } = startPipedTools([{ command: 'dbferry-no-such-tool', args: [] }], { signal: new AbortController().signal });
    stdout.resume();
    await expect(tools[0]!.done).rejects.toMatchObject({ type: 'ToolMissing', nonRetryable: true });
  });

  it('kills every tool when the signal aborts', async () => {
    const abort = new AbortController();
    const { tools, stdout } = startPipedTools(
      [
        { command: 'sleep', args: ['30'] },
        { command: 'sleep', args: ['30'] },
      ],
      { signal: abort.signal },
    );
    stdout.resume();
    const started = Date.now();
    abort.abort(new Error('cancelled'));
    for (const tool of tools) await expect(tool.done).rejects.toThrow('cancelled');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
