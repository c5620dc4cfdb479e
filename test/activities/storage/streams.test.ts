// Backup stream helpers: compression round trips, truncation, taps, and tools whose exit decides a stream's end.
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { compressor, countingTap, decompressor, hashingTap } from '../../../src/activities/storage/streams.ts';
import { endWhenToolsSucceed, startTool, toolsFailure } from '../../../src/activities/tools/tool-process.ts';

const collect = () => {
  const chunks: Buffer[] = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => void (chunks.push(chunk), done()) });
  return { sink, bytes: () => Buffer.concat(chunks) };
};

describe('backup stream helpers', () => {
  it.each(['gzip', 'zstd'] as const)(
    '%s compresses and decompresses a stream back to the same bytes, hashing and counting on the way',
    async (compression) => {
      const data = Buffer.concat([randomBytes(300_000), Buffer.alloc(2_000_000, 'abc')]);
      const signal = new AbortController().signal;
      const compress = compressor(compression, signal);
      const hash = hashingTap();
      const stored = collect();
      await pipeline(Readable.from([data]), compress.stream, hash, stored.sink);
      await Promise.all(compress.tools.map((t) => t.done));
      expect(hash.bytes).toBe(stored.bytes().length);
      expect(hash.bytes).toBeLessThan(data.length);
      expect(hash.digest()).toBe(createHash('sha256').update(stored.bytes()).digest('hex'));

      const decompress = decompressor(compression, signal);
      const counted = countingTap();
      const restored = collect();
      await pipeline(Readable.from([stored.bytes()]), decompress.stream, counted, restored.sink);
      expect(restored.bytes().equals(data)).toBe(true);
      expect(counted.bytes).toBe(data.length);
    },
  );

  it.each(['gzip', 'zstd'] as const)('%s refuses a truncated stream instead of returning less', async (compression) => {
    const signal = new AbortController().signal;
    const compress = compressor(compression, signal);
    const stored = collect();
    await pipeline(Readable.from([randomBytes(500_000)]), compress.stream, stored.sink);
    const truncated = stored.bytes().subarray(0, stored.bytes().length - 100);
    const decompress = decompressor(compression, signal);
    const failed = pipeline(Readable.from([truncated]), decompress.stream, collect().sink).then(() =>
      Promise.all(decompress.tools.map((t) => t.done)),
    );
    await expect(failed).rejects.toThrow();
  });

  it('ends the stream only when every tool exited 0, and errors it with the failing tool’s message otherwise', async () => {
    const signal = new AbortController().signal;
    const ok = startTool('sh', ['-c', 'printf hello'], { signal });
    const good = collect();
    await pipeline(ok.stdout!, endWhenToolsSucceed([ok]), good.sink);
    expect(good.bytes().toString()).toBe('hello');

    const bad = startTool('sh', ['-c', 'printf partial; echo "ERROR 1045: Access denied for user" >&2; exit 2'], { signal });
    const gate = endWhenToolsSucceed([bad]);
    await expect(pipeline(bad.stdout!, gate, collect().sink)).rejects.toThrow(/sh failed \(exit 2\): ERROR 1045: Access denied/);
    expect(await toolsFailure([bad])).toMatchObject({ type: 'AuthenticationFailed', nonRetryable: true });
  });

  it('kills a tool when its signal aborts', async () => {
    const controller = new AbortController();
    const sleeper = startTool('sleep', ['30'], { signal: controller.signal, stdout: 'ignore' });
    const started = Date.now();
    controller.abort(new Error('stop'));
    await expect(sleeper.done).rejects.toThrow('stop');
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
