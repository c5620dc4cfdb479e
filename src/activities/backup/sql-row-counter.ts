// Counts the rows of each table in a mysqldump stream as it flows past, so a backup's manifest
// carries exact row counts from the dump's own consistent snapshot (information_schema only has
// estimates for InnoDB, and a separate COUNT(*) would see a different moment).
import { Transform, type TransformCallback } from 'node:stream';

const NEWLINE = 0x0a;
const QUOTE = 0x27;
const BACKSLASH = 0x5c;
const OPEN = 0x28;
const SEMICOLON = 0x3b;
// A line is classified on its first bytes; table names are at most 64 characters (256 bytes quoted).
const HEAD_LIMIT = 1024;

const DATA_COMMENT = '-- Dumping data for table `';
const INSERT = 'INSERT INTO `';
const UNLOCK = 'UNLOCK TABLES;';

/** Reads a backtick-quoted name (doubled backticks inside) starting after the opening backtick. */
function quotedName(line: string, from: number): { name: string; end: number } | null {
  let name = '';
  for (let i = from; i < line.length; i++) {
    if (line[i] !== '`') name += line[i];
    else if (line[i + 1] === '`') {
      name += '`';
      i++;
    } else return { name, end: i + 1 };
  }
  return null;
}

/**
 * The row counting state machine. mysqldump writes a table's rows only between its
 * `-- Dumping data for table` comment and `UNLOCK TABLES;`, as `INSERT INTO `t` VALUES …;`
 * statements; statements elsewhere (trigger and routine bodies) are never counted.
 * - MariaDB's mysqldump puts each row on its own line. It escapes newlines inside strings, so every
 *   raw newline ends a row: one native newline search per row (measured: ~40 ms per 232 MB).
 * - MySQL's puts all rows of a statement on one line. Outside string literals every `(` starts a
 *   row: values are numbers, NULL, hex (--hex-blob) and quoted strings in which quotes and
 *   backslashes are escaped with a backslash, so the scanner follows quotes and escapes.
 */
export class SqlRowCounter {
  readonly rows = new Map<string, number>();
  bytes = 0;
  #mode: 'head' | 'skip' | 'values' | 'string' | 'rows' | 'rows-rest' = 'head';
  #lastByte = 0; // the last byte of the chunk before, for `rows` mode
  #byteBefore = 0;
  #head: number[] = [];
  #escape = false;
  #dataTable: string | null = null;
  #counting: string | null = null;
  #count = 0;

  /** Feeds the next piece of the stream. */
  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let i = 0;
    const n = chunk.length;
    if (n === 0) return;
    this.#byteBefore = this.#lastByte;
    this.#lastByte = chunk[n - 1]!;
    while (i < n) {
      switch (this.#mode) {
        case 'skip': {
          const nl = chunk.indexOf(NEWLINE, i);
          if (nl === -1) return;
          i = nl + 1;
          this.#mode = 'head';
          break;
        }
        case 'head': {
          while (i < n && this.#head.length < HEAD_LIMIT) {
            const byte = chunk[i++]!;
            if (byte === NEWLINE) break;
            this.#head.push(byte);
          }
          const ended = chunk[i - 1] === NEWLINE;
          if (!ended && this.#head.length < HEAD_LIMIT) return; // the line goes on in the next chunk
          const rest = this.#classify(Buffer.from(this.#head));
          this.#head = [];
          if (rest && rest.length === 0 && ended) {
            // `INSERT INTO `t` VALUES` alone on its line: MariaDB's one row per line follows.
            this.#mode = 'rows';
          } else if (rest) {
            // An INSERT: count what followed its prefix on this line, then carry on in `values` mode.
            this.#mode = 'values';
            this.#scan(rest, 0);
          } else {
            this.#mode = 'skip';
          }
          // The head stops before the newline: a line that ended here is fully consumed.
          if (this.#mode === 'skip' && ended) this.#mode = 'head';
          break;
        }
        case 'rows':
        case 'rows-rest':
          i = this.#rows(chunk, i);
          break;
        default:
          i = this.#scan(chunk, i);
      }
    }
  }

  /** Rows per table, in dump order, including tables with no rows. */
  tables(): Array<{ table: string; rows: number }> {
    this.#flushCount();
    return [...this.rows].map(([table, rows]) => ({ table, rows }));
  }

  // Looks at the first bytes of a line; returns the bytes after `VALUES ` when the line starts a counted INSERT.
  #classify(head: Buffer): Buffer | null {
    const line = head.toString('utf8');
    if (line.startsWith(DATA_COMMENT)) {
      const parsed = quotedName(line, DATA_COMMENT.length);
      if (parsed) {
        this.#flushCount();
        this.#dataTable = parsed.name;
        if (!this.rows.has(parsed.name)) this.rows.set(parsed.name, 0);
      }
      return null;
    }
    if (line.startsWith(UNLOCK)) {
      this.#flushCount();
      this.#dataTable = null;
      return null;
    }
    if (this.#dataTable !== null && line.startsWith(INSERT)) {
      const parsed = quotedName(line, INSERT.length);
      if (!parsed || parsed.name !== this.#dataTable || !line.startsWith(' VALUES', parsed.end)) return null;
      this.#flushCount();
      this.#counting = parsed.name;
      const prefix = Buffer.byteLength(line.slice(0, parsed.end + ' VALUES'.length));
      return head.subarray(prefix);
    }
    return null;
  }

  // Scans statement bytes from `i`; returns where it stopped (end of chunk, or just past the statement's line).
  #scan(chunk: Buffer, i: number): number {
    const n = chunk.length;
    let count = this.#count;
    // Next quote and backslash at or after `i` (-1: none left in this chunk), found with indexOf and
    // reused until passed, so a long literal costs two native scans, not a JavaScript loop per byte.
    let quote = -2;
    let backslash = -2;
    try {
      while (i < n) {
        if (this.#mode === 'string') {
          if (this.#escape) {
            this.#escape = false;
            i++;
            continue;
          }
          if (quote !== -1 && quote < i) quote = chunk.indexOf(QUOTE, i);
          if (backslash !== -1 && backslash < i) backslash = chunk.indexOf(BACKSLASH, i);
          if (backslash !== -1 && (quote === -1 || backslash < quote)) {
            this.#escape = true;
            i = backslash + 1;
          } else if (quote !== -1) {
            this.#mode = 'values';
            i = quote + 1;
          } else return n;
          continue;
        }
        const byte = chunk[i++]!;
        if (byte === OPEN) count++;
        else if (byte === QUOTE) this.#mode = 'string';
        else if (byte === SEMICOLON) {
          this.#mode = 'skip';
          const nl = chunk.indexOf(NEWLINE, i);
          if (nl === -1) return n;
          this.#mode = 'head';
          return nl + 1;
        }
      }
      return n;
    } finally {
      this.#count = count;
    }
  }

  // MariaDB's layout, one row per line: `(…),` … `(…);`; the statement ends at the line whose last byte is `;`.
  #rows(chunk: Buffer, i: number): number {
    for (;;) {
      if (this.#mode === 'rows') {
        // At the start of a line.
        if (i >= chunk.length) return i;
        if (chunk[i] !== OPEN) {
          this.#mode = 'head'; // not a row after all: classify the line
          return i;
        }
        this.#count++;
        this.#mode = 'rows-rest';
      }
      const nl = chunk.indexOf(NEWLINE, i);
      if (nl === -1) return chunk.length; // the row goes on in the next chunk
      const before = nl > 0 ? chunk[nl - 1] : this.#byteBefore;
      i = nl + 1;
      this.#mode = before === SEMICOLON ? 'head' : 'rows';
      if (this.#mode === 'head') return i;
    }
  }

  #flushCount(): void {
    if (this.#counting !== null) this.rows.set(this.#counting, (this.rows.get(this.#counting) ?? 0) + this.#count);
    this.#counting = null;
    this.#count = 0;
  }
}

/** A pass-through stream that counts rows per table (and bytes) in the mysqldump output it carries. */
export function sqlRowCountingStream(counter = new SqlRowCounter()): Transform & { counter: SqlRowCounter } {
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done: TransformCallback) {
      counter.push(chunk);
      done(null, chunk);
    },
  });
  return Object.assign(stream, { counter });
}
