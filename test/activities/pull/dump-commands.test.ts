// The pull's mydumper and myloader command lines, built without running either tool.
import { describe, expect, it } from 'vitest';
import { directDumpDir, loaderErrors, myloaderArgs, mydumperArgs, planDumpRuns } from '../../../src/activities/pull/dump-commands.ts';
import { WorkspaceLayout } from '../../../src/activities/pull/workspace-layout.ts';
import { workspaceName } from '../../../src/workflows/pull/contracts.ts';

const ws = workspaceName(1_732_300_000, 'ab12cd34');
const matches = (regex: string | null, names: string[]): string[] => names.filter((n) => regex === null || new RegExp(regex).test(n));

describe('the dump runs of a pull', () => {
  it('dumps a workspace database whole, and the direct tables from the source beside it', () => {
    const runs = planDumpRuns(WorkspaceLayout.of({ workspace: ws }), '/work/pull-1', 'shop', ['countries', 'currencies']);
    expect(runs.map(({ tool, database, outputDir }) => ({ tool, database, outputDir }))).toEqual([
      { tool: 'mydumper', database: ws, outputDir: '/work/pull-1' },
      { tool: 'mydumper-direct', database: 'shop', outputDir: directDumpDir('/work/pull-1') },
    ]);
    expect(runs[0]!.regex).toBeNull();
    expect(matches(runs[1]!.regex, ['shop.countries', 'shop.currencies', 'shop.countries_old', 'shop.users', 'other.countries'])).toEqual([
      'shop.countries',
      'shop.currencies',
    ]);
  });

  it('dumps only the workspace database when no table goes direct', () => {
    expect(planDumpRuns(WorkspaceLayout.of({ workspace: ws }), '/work/pull-1', 'shop', [])).toEqual([
      { tool: 'mydumper', database: ws, regex: null, outputDir: '/work/pull-1' },
    ]);
  });

  it('reads the prefixed copies and the direct tables of the source database in one run, never bookkeeping or another table', () => {
    const layout = WorkspaceLayout.of({ workspace: ws, inDatabase: 'shop' });
    const runs = planDumpRuns(layout, '/work/pull-1', 'shop', ['countries']);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ tool: 'mydumper', database: 'shop', outputDir: '/work/pull-1' });
    const names = [
      `shop.${ws}_t_users`,
      `shop.${ws}_b_sanitized`,
      'shop.countries',
      'shop.countries2',
      'shop.users',
      `other.${ws}_t_users`,
    ];
    expect(matches(runs[0]!.regex, names)).toEqual([`shop.${ws}_t_users`, 'shop.countries']);
    const withoutDirect = planDumpRuns(layout, '/work/pull-1', 'shop', []);
    expect(matches(withoutDirect[0]!.regex, names)).toEqual([`shop.${ws}_t_users`]);
  });
});

describe('the tools of a pull', () => {
  it('runs mydumper without locks, with a regex only when the run has one', () => {
    const run = { tool: 'mydumper' as const, database: 'shop', regex: '^shop\\.(a|b)$', outputDir: '/d' };
    expect(mydumperArgs(run, 4)).toEqual([
      '--database',
      'shop',
      '--regex',
      '^shop\\.(a|b)$',
      '--outputdir',
      '/d',
      '--threads',
      '4',
      '--rows',
      '200000',
      '--no-locks',
      '--verbose',
      '3',
    ]);
    expect(mydumperArgs({ ...run, regex: null }, 2)).not.toContain('--regex');
  });

  it('runs myloader over the dump into the destination, overwriting the tables it recreates', () => {
    expect(myloaderArgs('/d', 'app_dev', 8)).toEqual([
      '--directory',
      '/d',
      '--database',
      'app_dev',
      '--overwrite-tables',
      '--threads',
      '8',
      '--verbose',
      '3',
    ]);
  });

  it('takes the CRITICAL and Error lines of myloader as a failed load, and nothing else', () => {
    const tail = [
      '** Message: Thread 1: restoring `app`.`users`',
      '** (myloader:1): CRITICAL **: Error restoring',
      'Error: Table x',
      '0 errors',
    ];
    expect(loaderErrors(tail)).toEqual(['** (myloader:1): CRITICAL **: Error restoring', 'Error: Table x']);
  });
});
