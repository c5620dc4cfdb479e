// The lint wall around src/workflows fires (Node built-ins, I/O libraries, activity values).
import { describe, expect, it } from 'vitest';
import { ESLint } from 'eslint';
import { rm, writeFile } from 'node:fs/promises';

describe('the workflow sandbox lint', () => {
  it('refuses Node built-ins, I/O libraries and activity values in src/workflows, but allows activity types', async () => {
    const eslint = new ESLint();
    const code = [
      "import { readFileSync } from 'node:fs';",
      "import { execa } from 'execa';",
      "import { createActivities } from '../activities/index.ts';",
      "import type { Activities } from '../activities/index.ts';",
      'export const used: unknown[] = [readFileSync, execa, createActivities];',
      'export type A = Activities;',
    ].join('\n');
    // Typed linting needs a real file inside the project.
    const probe = `src/workflows/lint-probe-${process.pid}.ts`;
    await writeFile(probe, code);
    const [result] = await eslint.lintFiles([probe]).finally(() => rm(probe, { force: true }));
    expect(result!.messages.filter((m) => m.fatal)).toEqual([]);
    const messages = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.line);
    expect(messages).toEqual([1, 2, 3]);
  });
});
