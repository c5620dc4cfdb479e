// Foreign keys between the tables of one database, as read from information_schema.

export interface ForeignKey {
  name: string;
  table: string;
  columns: string[];
  refTable: string;
  refColumns: string[];
}

/**
 * Tables ordered parents first (Kahn's algorithm). Self-references never constrain the order; a
 * cycle is broken at the table with the fewest unplaced parents (then by name), so the order is
 * always complete and the same for the same schema.
 */
export function topologicalOrder(tables: readonly string[], foreignKeys: readonly ForeignKey[]): { order: string[]; cyclic: string[] } {
  const inScope = new Set(tables);
  const parents = new Map<string, Set<string>>(tables.map((t) => [t, new Set<string>()]));
  for (const fk of foreignKeys) {
    if (fk.table === fk.refTable || !inScope.has(fk.table) || !inScope.has(fk.refTable)) continue;
    parents.get(fk.table)!.add(fk.refTable);
  }
  const placed = new Set<string>();
  const order: string[] = [];
  const cyclic: string[] = [];
  const remaining = [...tables].sort();
  while (remaining.length) {
    const unplacedParents = (t: string) => [...parents.get(t)!].filter((p) => !placed.has(p)).length;
    let index = remaining.findIndex((t) => unplacedParents(t) === 0);
    if (index < 0) {
      // Every remaining table waits on another: a cycle. Break it where it is weakest.
      index = remaining.reduce((best, t, i) => (unplacedParents(t) < unplacedParents(remaining[best]!) ? i : best), 0);
      cyclic.push(remaining[index]!);
    }
    const [table] = remaining.splice(index, 1);
    placed.add(table!);
    order.push(table!);
  }
  return { order, cyclic };
}
