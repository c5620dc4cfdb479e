# dbferry worker/API image: Node 20 plus the dump tools the activities shell out to.
FROM node:20-bookworm-slim

# bookworm: mydumper ships mydumper+myloader, mariadb-client ships mysqldump (and pulls in mariadb), mariadb-backup ships mariabackup
# (physical backups), mariadb-server ships the mariadbd a chain restore starts on a prepared datadir to copy one database out,
# zstd compresses backups (tar is in the base image).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      mydumper mariadb-client mariadb-backup mariadb-server zstd ca-certificates \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY package.json package-lock.json ./
# tsx (a devDependency) runs the TypeScript sources directly, so dev dependencies stay installed.
# --ignore-scripts matches how the project is installed and tested elsewhere (npm 11 default).
RUN npm ci --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src

# Owned by node and group-writable, so a named volume mounted here starts out writable for the
# worker, also when compose runs it as the MariaDB image's mysql user (uid 999) in group node to
# read the datadir for physical backups.
RUN install -d -m 0770 -o node -g node /var/lib/dbferry/work /var/lib/dbferry/cache
ENV DBFERRY_CONFIG=/etc/dbferry/config.json
# The workflow bundle is built on first start (a child process, ~3 s) and cached here.
ENV DBFERRY_CACHE_DIR=/var/lib/dbferry/cache
USER node
CMD ["node", "--import", "tsx", "src/cli/main.ts", "worker"]
