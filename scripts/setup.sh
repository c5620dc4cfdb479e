#!/usr/bin/env bash
# Idempotent setup for dev and CI: node deps, dump tools, Temporal CLI, S3 server, a reachable MariaDB.
# Fast when everything is already present; every step checks before it acts.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { echo "setup: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

# --- node dependencies: only when missing or the lockfile changed since the last install
if [[ ! -d node_modules ]] || { [[ -f package-lock.json ]] && [[ package-lock.json -nt node_modules/.package-lock.json ]]; }; then
  if [[ -f package-lock.json ]]; then
    log "npm ci"
    npm ci --no-audit --no-fund
  else
    log "npm install (no package-lock.json)"
    npm install --no-audit --no-fund
  fi
else
  log "node_modules up to date"
fi

# --- apt packages, by the binaries they provide (bookworm: mariadb-client ships mysqldump and pulls
# in mariadb-client-core, which ships mariadb)
pkgs=()
{ have mydumper && have myloader; } || pkgs+=(mydumper)
{ have mariadb && have mysqldump; } || pkgs+=(mariadb-client)
have mariabackup || pkgs+=(mariadb-backup)
have zstd || pkgs+=(zstd)   # backups compressed with zstd (gzip is Node's own zlib)
have tar || pkgs+=(tar)     # mydumper backups are archived as one object
[[ -x /usr/sbin/mariadbd ]] || pkgs+=(mariadb-server)
if ((${#pkgs[@]} > 0)); then
  log "apt-get install ${pkgs[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
else
  log "apt packages present"
fi

# --- Temporal CLI: built with go into go's own bin dir (outside the repo) so fresh clones reuse it
temporal_bin=""
if [[ -n "${TEMPORAL_CLI:-}" && -x "${TEMPORAL_CLI}" ]]; then
  temporal_bin="$TEMPORAL_CLI"
  log "using TEMPORAL_CLI=$temporal_bin"
else
  have go || { log "go is required to build the Temporal CLI but is not on PATH" >&2; exit 1; }
  gobin="$(go env GOPATH)/bin"
  temporal_bin="$gobin/temporal"
  if [[ -x "$temporal_bin" ]]; then
    log "temporal CLI present at $temporal_bin"
  else
    built=""
    # Later tags carry a replace directive and cannot be go-installed; fall back to older ones.
    for v in v1.5.1 v1.5.0 v1.4.1; do
      log "go install github.com/temporalio/cli/cmd/temporal@$v (takes a few minutes)"
      out="$(mktemp)"
      # CGO off as upstream releases do (sqlite is pure Go); -X restores the version that --version prints.
      if GOBIN="$gobin" CGO_ENABLED=0 go install \
        -ldflags "-s -w -X github.com/temporalio/cli/temporalcli.Version=${v#v}" \
        "github.com/temporalio/cli/cmd/temporal@$v" >"$out" 2>&1; then
        built="$v"; rm -f "$out"; break
      fi
      log "building temporal@$v failed:" >&2
      grep -v '^go: downloading' "$out" | sed 's/^/setup:   /' >&2 || true
      rm -f "$out"
    done
    [[ -n "$built" ]] || { log "could not build the Temporal CLI; set TEMPORAL_CLI to an existing binary" >&2; exit 1; }
    log "built temporal $built into $gobin"
  fi
fi

# --- S3-compatible server for the tests and `dbferry dev`: versitygw (posix backend, one static
# binary, no replace directives), built like the Temporal CLI into go's bin dir.
VERSITYGW_VERSION=v1.8.0
s3_bin=""
if [[ -n "${S3_SERVER_BIN:-}" ]]; then
  [[ -x "$S3_SERVER_BIN" ]] || { log "S3_SERVER_BIN=$S3_SERVER_BIN is not an executable file" >&2; exit 1; }
  s3_bin="$S3_SERVER_BIN"
  log "using S3_SERVER_BIN=$s3_bin"
else
  have go || { log "go is required to build the S3 server (versitygw) but is not on PATH" >&2; exit 1; }
  gobin="$(go env GOPATH)/bin"
  s3_bin="$gobin/versitygw"
  if [[ -x "$s3_bin" ]]; then
    log "versitygw present at $s3_bin"
  else
    log "go install github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION (takes a minute or two)"
    out="$(mktemp)"
    # -X restores the version that --version and the start-up banner print (upstream sets it in its Makefile).
    if ! GOBIN="$gobin" CGO_ENABLED=0 go install \
      -ldflags "-s -w -X main.Version=$VERSITYGW_VERSION" \
      "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >"$out" 2>&1; then
      log "building versitygw@$VERSITYGW_VERSION failed:" >&2
      grep -v '^go: downloading' "$out" | sed 's/^/setup:   /' >&2 || true
      rm -f "$out"
      log "set S3_SERVER_BIN to an existing versitygw binary to skip the build" >&2
      exit 1
    fi
    rm -f "$out"
    log "built versitygw $VERSITYGW_VERSION into $gobin"
  fi
fi

# --- MariaDB on 127.0.0.1:3306 as root with an empty password
db_ok() { mariadb -uroot -h127.0.0.1 -P3306 -e 'select 1' >/dev/null 2>&1; }
if db_ok; then
  log "mariadb answers on 127.0.0.1:3306"
else
  if ! mariadb -uroot -e 'select 1' >/dev/null 2>&1; then
    log "starting mariadbd"
    $SUDO install -d -o mysql -g mysql /run/mysqld
    $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  fi
  for _ in $(seq 1 30); do
    db_ok && break
    # A fresh Debian install authenticates root by unix socket only; allow TCP with an empty password.
    if mariadb -uroot -e 'select 1' >/dev/null 2>&1; then
      mariadb -uroot -e "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
        GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" || true
      db_ok && break
    fi
    sleep 1
  done
  db_ok || { log "mariadb does not answer on 127.0.0.1:3306 after 30s (see /var/log/mysql/error.log)" >&2; exit 1; }
  log "mariadb answers on 127.0.0.1:3306"
fi

# --- versions, one line each
log "temporal: $("$temporal_bin" --version 2>&1 | head -n1)"
log "mydumper: $(mydumper --version 2>&1 | head -n1)"
log "myloader: $(myloader --version 2>&1 | head -n1)"
log "mariadb:  $(mariadb --version 2>&1 | head -n1)"
log "zstd:     $(zstd --version 2>&1 | head -n1)"
log "s3:       $("$s3_bin" --version 2>&1 | head -n1 | sed 's/^Version *: */versitygw /')"
