// The orphan sweep's judgement of which workspaces belong to running pulls (what Temporal lists), and the ids workspace names carry.
import { describe, expect, it } from 'vitest';
import { belongsToRunningPull, listRunningPulls, type RunningPulls } from '../../../src/activities/pull/orphans.ts';
import { workspaceCreatedAt, workspaceName, workspacePullId } from '../../../src/workflows/pull/contracts.ts';
import { workspaceOfTable } from '../../../src/activities/pull/workspace-layout.ts';

const pullId = '3f0c2a6e-91b4-4c1d-8e77-0a1b2c3d4e5f';
const hex = pullId.replace(/-/g, '');
const now = 1_760_000_000;

describe('workspace names and the pull they belong to', () => {
  it('carry the whole pull id in a workspace database, and a prefix of it in older and prefixed-table names', () => {
    const whole = workspaceName(now, hex);
    expect(whole).toBe(`_dbferry_tmp_${now}_${hex}`);
    expect(whole.length).toBeLessThanOrEqual(64);
    expect(workspaceCreatedAt(whole)).toBe(now);
    expect(workspacePullId(whole)).toBe(hex);
    expect(workspacePullId(workspaceName(now, hex.slice(0, 12)))).toBe(hex.slice(0, 12));
    expect(workspacePullId('_dbferry_tmp_x_abc')).toBeNull();
    expect(workspaceCreatedAt(`_dbferry_tmp_${now}_${hex}0`)).toBeNull(); // 33 characters: not ours
    expect(workspaceOfTable(`${workspaceName(now, hex.slice(0, 8))}_t_users`)).toBe(workspaceName(now, hex.slice(0, 8)));
  });

  const running = (ids: string[], workspaces: string[] = []): RunningPulls => ({
    ids: ids.map((i) => i.replace(/-/g, '')),
    workspaces: new Set(workspaces),
  });

  it('protects a workspace its running pull names, owns, or whose name carries its id', () => {
    const ws = workspaceName(now - 7200, hex);
    expect(belongsToRunningPull({ name: ws }, null, running([pullId]))).toBe(true);
    expect(belongsToRunningPull({ name: workspaceName(now, hex.slice(0, 12)) }, null, running([pullId]))).toBe(true);
    const other = workspaceName(now, 'aaaaaaaa');
    expect(belongsToRunningPull({ name: other, inDatabase: 'shop' }, pullId, running([pullId]))).toBe(true); // the owner table
    expect(belongsToRunningPull({ name: other, inDatabase: 'shop' }, null, running([], [`shop\u0000${other}`]))).toBe(true); // the state
    expect(belongsToRunningPull({ name: other }, null, running([], [other]))).toBe(true);
  });

  it('leaves the sweep a workspace whose pull is not running', () => {
    const ws = workspaceName(now - 7200, hex);
    expect(belongsToRunningPull({ name: ws }, null, running([]))).toBe(false);
    expect(belongsToRunningPull({ name: ws }, pullId, running(['00000000-0000-0000-0000-000000000000']))).toBe(false);
    expect(belongsToRunningPull({ name: ws, inDatabase: 'shop' }, null, running([], [ws]))).toBe(false); // another place
  });

  it('lists running pulls from their memo state, tables-strategy workspaces by database', async () => {
    const queries: string[] = [];
    const client = {
      workflow: {
        list: ({ query }: { query: string }) => {
          queries.push(query);
          return (async function* () {
            yield { memo: { state: { id: pullId, workspace: `_dbferry_tmp_${now}_${hex}` } } };
            yield { memo: { state: { id: 'AB-CD', workspace: `shop.${workspaceName(now, 'abcd')}_*` } } };
            yield { memo: { state: { id: 'ef', workspace: null } } };
            yield { memo: undefined };
          })();
        },
      },
    };
    const listed = await listRunningPulls(client as never);
    expect(queries).toEqual(["WorkflowType = 'sanitizedPull' AND ExecutionStatus = 'Running'"]);
    expect(listed.ids).toEqual([hex, 'abcd', 'ef']);
    expect([...listed.workspaces]).toEqual([`_dbferry_tmp_${now}_${hex}`, `shop\u0000${workspaceName(now, 'abcd')}`]);
  });
});
