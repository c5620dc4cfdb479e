#!/usr/bin/env node
// The dbferry command: parses the verb and hands it to its command module (stack, user, backup, schedule, pull).
import { accessCommand, auditCommand, tokenCommand, userCommand } from './access-commands.ts';
import { UsageError } from './args.ts';
import { apiCommand, devCommand, workerCommand } from './stack.ts';
import { cancelCommand, copyCommand, describeCliError, statusCommand } from './user-commands.ts';
import { backupCommand, backupsCommand, restoreCommand } from './backup-commands.ts';
import { scheduleCommand } from './schedule-commands.ts';
import { cleanupCommand, pullCommand, pullsCommand } from './pull-commands.ts';
import { grantCommand, transfersCommand } from './grant-commands.ts';

const USAGE = `usage: dbferry <command>

  dev                         Temporal dev server (with Web UI) + worker + API, for development
  worker                      run a worker
  api                         run the HTTP API (tRPC under /trpc, REST under /api)
  user create NAME [--role admin|operator|viewer] | list [--json] | disable NAME | enable NAME
                              users in the control schema (the first admin is made here)
  token create --user NAME [--name LABEL] [--scopes copies:write,backups:read] [--expires-in 30d]
                              create an API token (printed once, last line)
  token list [--user NAME] [--json] | revoke ID
  access grant|revoke --user NAME (--connection C | --target T) --actions a,b   (admin token)
  access list [--user NAME] [--json]
  audit [--limit N] [--user NAME] [--action A] [--run ID] [--json]            (admin token)
  copy --from CONN/DB --to CONN/DB [--threads N] [--recreate] [--follow] [--json]
                              [--callback-url URL] [--idempotency-key KEY]
  status ID [--follow] [--json]
  cancel ID
  backup --from CONN/DB --target NAME [--format mysqldump|mydumper] [--compression gzip|zstd]
         [--threads N] [--follow] [--json] [--callback-url URL] [--idempotency-key KEY]
  backups list [--target NAME] [--source CONN[/DB]] [--status S] [--from ISO] [--to ISO] [--json]
                              with --target: read the bucket directly (config file only, no API)
  backups get ID [--json]
  backups download ID [--output FILE]
  restore BACKUP_ID --to CONN/DB [--force] [--threads N] [--follow] [--json]
  backup --physical --from CONN --target NAME [--incremental [--parent ID]] [--compression zstd|gzip]
         [--threads N] [--follow] [--json]    mariabackup of the whole server (worker on the database host)
  restore --chain ID|latest --target NAME --to folder:PATH|CONN/DB [--database SRC] [--from CONN --before ISO]
          [--force] [--follow] [--json]       restore a chain of physical backups
  schedule create NAME --from CONN/DB --target NAME --cron EXPR [--timezone TZ]
           [--format F] [--compression C] [--keep-last N] [--keep-daily N] [--keep-weekly N]
           [--keep-monthly N] [--overlap skip|bufferOne] [--paused] [--json]
  schedule update NAME [options of create but --from] [--no-retention]
  schedule list | get NAME | pause NAME | resume NAME | trigger NAME | delete NAME
  pull PROFILE [--full] [--tables a,b] [--dry-run] [--follow] [--json] [--callback-url URL]
                              a sanitized, subsetted pull (profiles live in the config's "pulls")
  pulls [list] [--limit N] [--json] | get ID [--json] | cancel ID
  cleanup [--max-age 60] [--force]   drop pull workspaces older than max-age minutes
  grant create NAME --site-url URL --profile P [limits, tables, --ip, --hours, --password-env VAR, --expires-in 30d]
                              a pull grant (admin token; its token is printed once, last line)
  grant update|list|get|approve|suspend|reactivate|revoke|regenerate-token|delete NAME   (see dbferry grant)
  transfers list [--grant NAME] [--status S] [--direction D] [--table T] [--since ISO] | approve ID | deny ID --reason R

The config file is named by DBFERRY_CONFIG; user commands call the API at DBFERRY_URL
(default http://127.0.0.1:8080) with DBFERRY_TOKEN.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'dev':
      await devCommand(args);
      return 0;
    case 'worker':
      await workerCommand();
      return 0;
    case 'api':
      await apiCommand();
      return 0;
    case 'user':
      return userCommand(args);
    case 'token':
      return tokenCommand(args);
    case 'access':
      return accessCommand(args);
    case 'audit':
      return auditCommand(args);
    case 'copy':
      return copyCommand(args);
    case 'status':
      return statusCommand(args);
    case 'cancel':
      return cancelCommand(args);
    case 'backup':
      return backupCommand(args);
    case 'backups':
      return backupsCommand(args);
    case 'restore':
      return restoreCommand(args);
    case 'schedule':
    case 'schedules':
      return scheduleCommand(args);
    case 'pull':
      return pullCommand(args);
    case 'pulls':
      return pullsCommand(args);
    case 'cleanup':
      return cleanupCommand(args);
    case 'grant':
    case 'grants':
      return grantCommand(args);
    case 'transfers':
      return transfersCommand(args);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command ? 0 : 2;
    default:
      throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`dbferry: ${describeCliError(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
