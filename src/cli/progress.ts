/** What a progress line shows, for copies, backups and restores alike. */
export interface ProgressView {
  id: string;
  status: string;
  phase: string | null;
  progress: number;
  lastError: string | null;
}

/** Renders copy progress: a redrawn bar on a terminal, one plain line per change otherwise. */
export function createProgressPrinter(stream: NodeJS.WriteStream, json: boolean) {
  const tty = Boolean(stream.isTTY) && !json;
  let last = '';
  return {
    update(view: ProgressView): void {
      if (json) {
        stream.write(`${JSON.stringify(view)}\n`);
        return;
      }
      const line = `${view.id} ${view.status} ${view.phase} ${view.progress}%`;
      if (line === last) return;
      last = line;
      if (tty) {
        const width = 30;
        const filled = Math.round((view.progress / 100) * width);
        stream.write(
          `\r\x1b[2K[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(view.progress).padStart(3)}% ${view.status} (${view.phase})`,
        );
      } else {
        stream.write(`${line}\n`);
      }
    },
    done(view: ProgressView): void {
      if (tty) stream.write('\n');
      if (!json && view.lastError) stream.write(`error: ${view.lastError}\n`);
    },
  };
}
