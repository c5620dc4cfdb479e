// Where a folder restore may write: inside the restore roots and nowhere dangerous, on the path as
// written and as symlinks lead, on a real temp directory.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Datadirs, findRestoreFolderProblem, realPathOf, type FolderRules } from '../../src/shared/restore-folder.ts';

describe('findRestoreFolderProblem', () => {
  let base: string;
  let rules: FolderRules;
  let root: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'dbferry-folder-'));
    root = join(base, 'restores');
    await mkdir(join(root, 'existing'), { recursive: true });
    await mkdir(join(base, 'outside'), { recursive: true });
    await mkdir(join(base, 'datadir'), { recursive: true });
    await symlink('/etc', join(root, 'to-etc'));
    await symlink(join(base, 'outside'), join(root, 'to-outside'));
    await symlink(join(root, 'existing'), join(root, 'to-existing'));
    await symlink(join(base, 'datadir'), join(root, 'to-datadir'));
    await symlink(join(base, 'work'), join(root, 'to-work'));
    rules = { restoreRoots: [root], workDir: join(base, 'work'), datadirs: [join(base, 'datadir'), '/var/lib/mysql'] };
  });
  afterAll(() => rm(base, { recursive: true, force: true }));

  it('accepts a new or existing folder strictly inside a root, through symlinks that stay inside', async () => {
    expect(await findRestoreFolderProblem(join(root, 'datadir'), rules)).toBeNull();
    expect(await findRestoreFolderProblem(join(root, 'existing', 'a', 'b'), rules)).toBeNull();
    expect(await findRestoreFolderProblem(join(root, 'to-existing', 'new'), rules)).toBeNull();
    // A root given with a trailing slash is the same root.
    expect(await findRestoreFolderProblem(join(root, 'x'), { ...rules, restoreRoots: [`${root}/`] })).toBeNull();
  });

  const refused: Array<[string, (root: string, base: string) => string, 'invalid' | 'forbidden', RegExp]> = [
    ['/', () => '/', 'forbidden', /may not be \//],
    ['/etc', () => '/etc', 'forbidden', /system directory \/etc/],
    ['a folder below /etc', () => '/etc/dbferry', 'forbidden', /system directory \/etc/],
    ['/usr/lib', () => '/usr/lib/x', 'forbidden', /system directory \/usr/],
    ['/proc', () => '/proc/1', 'forbidden', /system directory \/proc/],
    ['a relative path', () => 'restores/x', 'invalid', /absolute, normalized/],
    ['a .. segment', (r) => `${r}/../outside/x`, 'invalid', /absolute, normalized/],
    ['a . segment', (r) => `${r}/./x`, 'invalid', /absolute, normalized/],
    ['a double slash', (r) => `${r}//x`, 'invalid', /absolute, normalized/],
    ['a trailing slash', (r) => `${r}/x/`, 'invalid', /absolute, normalized/],
    ['a NUL byte', (r) => `${r}/x\0y`, 'invalid', /absolute, normalized/],
    ['the root itself', (r) => r, 'forbidden', /inside one of the restoreRoots/],
    ['a sibling of the root', (_r, b) => join(b, 'outside', 'x'), 'forbidden', /inside one of the restoreRoots/],
    ['a prefix look-alike', (r) => `${r}-evil/x`, 'forbidden', /inside one of the restoreRoots/],
    ['/tmp', () => '/tmp', 'forbidden', /inside one of the restoreRoots/],
    ['a symlink to /etc', (r) => join(r, 'to-etc'), 'forbidden', /system directory \/etc/],
    ['below a symlink to /etc', (r) => join(r, 'to-etc', 'x'), 'forbidden', /system directory \/etc/],
    [
      'below a symlink out of the roots',
      (r) => join(r, 'to-outside', 'x'),
      'forbidden',
      /outside the restoreRoots through a symbolic link/,
    ],
    ['below a symlink to a datadir elsewhere', (r) => join(r, 'to-datadir', 'x'), 'forbidden', /through a symbolic link/],
    ['below a dangling symlink to workDir', (r) => join(r, 'to-work', 'x'), 'forbidden', /through a symbolic link/],
    ['the MariaDB datadir', () => '/var/lib/mysql', 'forbidden', /system directory \/var\/lib\/mysql/],
  ];
  it.each(refused)('refuses %s', async (_label, folderOf, kind, message) => {
    const problem = await findRestoreFolderProblem(folderOf(root, base), rules);
    expect(problem).toMatchObject({ kind, message: expect.stringMatching(message) });
  });

  it('refuses workDir and a datadir inside a root, and a folder holding them', async () => {
    const inside = { ...rules, workDir: join(root, 'work'), datadirs: [join(root, 'mysql-data')] };
    expect(await findRestoreFolderProblem(join(root, 'work'), inside)).toMatchObject({ message: expect.stringMatching(/workDir/) });
    expect(await findRestoreFolderProblem(join(root, 'work', 'x'), inside)).toMatchObject({ message: expect.stringMatching(/workDir/) });
    expect(await findRestoreFolderProblem(join(root, 'mysql-data', 'x'), inside)).toMatchObject({
      message: expect.stringMatching(/datadir/),
    });
    // Through a symlink that stays inside the root, to a datadir there.
    await symlink(join(root, 'mysql-data'), join(root, 'to-inside-datadir'));
    expect(await findRestoreFolderProblem(join(root, 'to-inside-datadir', 'x'), inside)).toMatchObject({
      message: expect.stringMatching(/datadir/),
    });
    const holding = { ...rules, workDir: join(root, 'big', 'work') };
    expect(await findRestoreFolderProblem(join(root, 'big'), holding)).toMatchObject({ message: expect.stringMatching(/workDir/) });
  });

  it('refuses every folder when no root is configured, naming restoreRoots', async () => {
    expect(await findRestoreFolderProblem(join(root, 'x'), { ...rules, restoreRoots: [] })).toMatchObject({
      kind: 'forbidden',
      message: expect.stringMatching(/no restoreRoots/),
    });
  });

  it('resolves the nearest existing ancestor’s real path', async () => {
    expect(await realPathOf(join(root, 'to-outside', 'a', 'b'))).toBe(join(base, 'outside', 'a', 'b'));
    expect(await realPathOf('/nonexistent-dbferry/a')).toBe('/nonexistent-dbferry/a');
  });
});

describe('Datadirs', () => {
  it('takes a connection’s configured datadir, asks the server otherwise (once), and skips one that does not answer', async () => {
    let asked = 0;
    const datadirs = new Datadirs({ a: { datadir: '/data/a' }, b: {}, c: {} }, (name) => ({
      query: (async () => {
        if (name === 'c') throw new Error('connect ECONNREFUSED');
        asked++;
        return [[{ d: '/var/lib/mysql/' }], []];
      }) as never,
    }));
    expect(await datadirs.all()).toEqual(['/data/a', '/var/lib/mysql']);
    expect(await datadirs.all()).toEqual(['/data/a', '/var/lib/mysql']);
    expect(asked).toBe(1);
  });
});
