// `dbferry schedule create|list|get|update|pause|resume|trigger|delete`: backup schedules through the API.
import type { ScheduleView } from '../api/backup/schedule-view.ts';
import type { RetentionPolicy } from '../workflows/backup/contracts.ts';
import { parse, parseRef, UsageError } from './args.ts';
import { wholeNumber } from './backup-commands.ts';
import { apiClient } from './user-commands.ts';

const USAGE = `usage: dbferry schedule create NAME --from CONN/DB --target NAME --cron EXPR [--timezone TZ]
                              [--format mysqldump|mydumper] [--compression gzip|zstd] [--threads N]
                              [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N]
                              [--overlap skip|bufferOne] [--paused] [--callback-url URL] [--json]
       dbferry schedule update NAME [the options of create, except --from and --paused] [--no-retention]
       dbferry schedule list [--json]
       dbferry schedule get|trigger|delete NAME [--json]
       dbferry schedule pause|resume NAME [--note TEXT] [--json]`;

const settingOptions = {
  target: { type: 'string' },
  cron: { type: 'string' },
  timezone: { type: 'string' },
  format: { type: 'string' },
  compression: { type: 'string' },
  threads: { type: 'string' },
  'keep-last': { type: 'string' },
  'keep-daily': { type: 'string' },
  'keep-weekly': { type: 'string' },
  'keep-monthly': { type: 'string' },
  overlap: { type: 'string' },
  'callback-url': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

type SettingValues = { [K in keyof typeof settingOptions]?: (typeof settingOptions)[K]['type'] extends 'boolean' ? boolean : string };

/** The retention flags as a policy, or undefined when none was given. */
function retentionFrom(values: SettingValues): RetentionPolicy | undefined {
  const policy: RetentionPolicy = {
    keepLast: wholeNumber(values['keep-last'], '--keep-last'),
    keepDaily: wholeNumber(values['keep-daily'], '--keep-daily'),
    keepWeekly: wholeNumber(values['keep-weekly'], '--keep-weekly'),
    keepMonthly: wholeNumber(values['keep-monthly'], '--keep-monthly'),
  };
  const given = Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined)) as RetentionPolicy;
  return Object.keys(given).length ? given : undefined;
}

// Enum values go to the API as typed; the server names the field when one is wrong.
function settingsFrom(values: SettingValues) {
  return {
    target: values.target,
    cron: values.cron,
    timezone: values.timezone,
    format: values.format as 'mysqldump' | 'mydumper' | undefined,
    compression: values.compression as 'gzip' | 'zstd' | undefined,
    threads: wholeNumber(values.threads, '--threads'),
    overlap: values.overlap as 'skip' | 'bufferOne' | undefined,
    callbackUrl: values['callback-url'],
  };
}

const retentionText = (r: RetentionPolicy | null) =>
  r
    ? Object.entries(r)
        .map(([k, v]) => `${k.replace('keep', 'keep-').toLowerCase()} ${v}`)
        .join(', ')
    : 'keep everything';

function print(view: ScheduleView, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(view)}\n`);
    return;
  }
  process.stdout.write(
    `${view.name}  ${view.paused ? 'paused' : 'active'}  "${view.cron}" ${view.timezone}  ${view.source.connection}/${view.source.database} -> ${view.target}  ${view.format}+${view.compression}\n`,
  );
  process.stdout.write(
    `    retention: ${retentionText(view.retention)}; next: ${view.nextRuns[0] ?? '-'}; last: ${view.recentRuns.at(-1)?.startedAt ?? '-'}${view.note ? `; note: ${view.note}` : ''}\n`,
  );
}

export async function scheduleCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (!['create', 'update', 'list', 'get', 'trigger', 'delete', 'pause', 'resume'].includes(sub ?? '')) throw new UsageError(USAGE);
  const client = apiClient();
  switch (sub) {
    case 'create': {
      const { values, positionals } = parse(
        rest,
        { ...settingOptions, from: { type: 'string' }, paused: { type: 'boolean', default: false } },
        true,
      );
      const name = positionals[0];
      if (!name) throw new UsageError(USAGE);
      if (!values.target || !values.cron) throw new UsageError('--target NAME and --cron EXPR are required');
      const s = settingsFrom(values);
      const view = await client.schedules.create.mutate({
        ...s,
        name,
        source: parseRef(values.from, '--from'),
        target: values.target,
        cron: values.cron,
        retention: retentionFrom(values) ?? null,
        paused: values.paused,
        callbackUrl: s.callbackUrl ?? null,
      });
      print(view, values.json);
      return 0;
    }
    case 'update': {
      const { values, positionals } = parse(rest, { ...settingOptions, 'no-retention': { type: 'boolean', default: false } }, true);
      const name = positionals[0];
      if (!name) throw new UsageError(USAGE);
      const retention = values['no-retention'] ? null : retentionFrom(values);
      const view = await client.schedules.update.mutate({ ...settingsFrom(values), name, retention });
      print(view, values.json);
      return 0;
    }
    case 'list': {
      const { values } = parse(rest, { json: { type: 'boolean', default: false } });
      const views = await client.schedules.list.query();
      if (values.json) process.stdout.write(`${JSON.stringify(views)}\n`);
      else if (views.length === 0) process.stdout.write('no schedules\n');
      else for (const v of views) print(v, false);
      return 0;
    }
    case 'get':
    case 'trigger':
    case 'delete':
    case 'pause':
    case 'resume': {
      const { values, positionals } = parse(rest, { json: { type: 'boolean', default: false }, note: { type: 'string' } }, true);
      const name = positionals[0];
      if (!name) throw new UsageError(USAGE);
      if (sub === 'delete') {
        await client.schedules.delete.mutate({ name });
        process.stdout.write(
          values.json ? `${JSON.stringify({ name, deleted: true })}\n` : `schedule ${name} deleted (its backups stay in the target)\n`,
        );
        return 0;
      }
      const view =
        sub === 'get'
          ? await client.schedules.get.query({ name })
          : sub === 'trigger'
            ? await client.schedules.trigger.mutate({ name })
            : await client.schedules[sub].mutate({ name, note: values.note });
      print(view, values.json);
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}
