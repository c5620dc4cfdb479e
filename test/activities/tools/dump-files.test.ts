// mydumper output: classifying dump files, counting their rows, and myloader progress that only grows.
import { describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classifyDumpFiles, countRowsInDataFiles } from '../../../src/activities/tools/dump-files.ts';
import { loadTracker } from '../../../src/activities/copy/dumper.ts';

describe('mydumper output', () => {
  it('tells base tables, views and data chunks apart', () => {
    const files = [
      'metadata',
      'db-schema-create.sql',
      'db-schema-post.sql',
      'db.a-schema.sql',
      'db.a.00000.sql',
      'db.a.00001.sql',
      'db.a-schema-triggers.sql',
      'db.v-schema.sql',
      'db.v-schema-view.sql',
      'db.b-schema.sql',
      'db.b.sql',
      'db.empty-schema.sql',
      'other.x.sql',
    ];
    expect(classifyDumpFiles('db', files)).toEqual({
      tables: ['a', 'b', 'empty'],
      views: ['v'],
      data: [
        { file: 'db.a.00000.sql', table: 'a', part: 0 },
        { file: 'db.a.00001.sql', table: 'a', part: 1 },
        { file: 'db.b.sql', table: 'b', part: 0 },
      ],
    });
  });

  it('counts one row per "\\n(" even when values hold escaped newlines and parentheses', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dbferry-unit-'));
    await writeFile(
      join(dir, 'db.t.sql'),
      '/*!40101 SET NAMES binary*/;\nINSERT INTO `t` VALUES\n(1,"a\\n(b"),\n(2,"(x)"),\n(3,NULL);\nINSERT INTO `t` VALUES\n(4,"\\0\xff");\n',
    );
    await writeFile(join(dir, 'db.e.sql'), '/*!40101 SET NAMES binary*/;\n');
    const counts = await countRowsInDataFiles(dir, ['db.t.sql', 'db.e.sql']);
    expect(Object.fromEntries(counts)).toEqual({ 'db.t.sql': 4, 'db.e.sql': 0 });
  });

  it('turns myloader log lines into progress that only grows and stays below 1 until done', () => {
    const tracker = loadTracker([
      { file: 'db.t.00000.sql', table: 't', part: 0, bytes: 100 },
      { file: 'db.t.00001.sql', table: 't', part: 1, bytes: 100 },
      { file: 'db.u.sql', table: 'u', part: 0, bytes: 200 },
    ]);
    const seen = [tracker.fraction()];
    for (const line of [
      'Thread 1 restoring `db`.`t` part 0',
      'Thread 2 restoring `db`.`u` part 0',
      'Thread 1 restoring `db`.`t` part 1',
      'Thread 1 shutting down',
      'Thread 2 shutting down',
    ]) {
      tracker.onLine(`** Message: 10:00:00.000: ${line}`);
      seen.push(tracker.fraction());
    }
    seen.forEach((f, i) => i > 0 && expect(f).toBeGreaterThanOrEqual(seen[i - 1]!));
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBe(0.99);
  });
});
