#!/usr/bin/env bash
# The one test command (README "Run the tests"): makes sure PostgreSQL, MariaDB and Redis are
# up, installing them from Debian's packages when missing, Chromium and playwright-core for the
# browser test, oidc-provider for the OpenID Connect tests and jose for the JWKS test, a
# Python virtual environment with fastapi-users (from PyPI) for the import test, then runs
# every test of the workspace.
# Tests that need a service fail loudly when it is unreachable; none is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[tests]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

pg_up() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }
mysql_up() { (exec 3<>/dev/tcp/127.0.0.1/3306) 2>/dev/null; }

ensure_packages() {
  local missing=()
  command -v pg_ctlcluster >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  command -v mariadbd >/dev/null 2>&1 || command -v mysqld >/dev/null 2>&1 ||
    [ -x /usr/sbin/mariadbd ] || [ -x /usr/sbin/mysqld ] || missing+=(mariadb-server)
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]} from Debian's packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_postgres() {
  if pg_up; then return; fi
  ensure_packages
  log "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 50); do pg_up && break; sleep 0.2; done
  pg_up || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
  # Trust auth for local tests, as on the CI machines.
  if ! psql -h 127.0.0.1 -U postgres -c 'select 1' >/dev/null 2>&1; then
    local hba
    hba=$(ls /etc/postgresql/"$version"/main/pg_hba.conf)
    as_root sed -i -E 's/^(host\s+all\s+all\s+127\.0\.0\.1\/32\s+)\S+/\1trust/; s/^(local\s+all\s+postgres\s+)\S+/\1trust/' "$hba"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  fi
}

ensure_redis() {
  if redis_up; then return; fi
  ensure_packages
  log "starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 50); do redis_up && break; sleep 0.2; done
  redis_up || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }
}

# MariaDB on 127.0.0.1:3306, where `root` logs in over TCP without a password (as on the CI
# machines) and the database `test` exists: the MySQL tests create their databases from there.
ensure_mariadb() {
  if ! mysql_up; then
    ensure_packages
    log "starting MariaDB"
    as_root mkdir -p /run/mysqld
    as_root chown mysql:mysql /run/mysqld 2>/dev/null || true
    if command -v service >/dev/null 2>&1 && [ -x /etc/init.d/mariadb ]; then
      as_root service mariadb start >/dev/null 2>&1 || true
    fi
    if ! mysql_up; then
      (as_root mysqld_safe --bind-address=127.0.0.1 --port=3306 >/dev/null 2>&1 &)
    fi
    for _ in $(seq 1 100); do mysql_up && break; sleep 0.2; done
    mysql_up || { echo "MariaDB is not reachable on 127.0.0.1:3306" >&2; exit 1; }
  fi
  if ! mariadb -h 127.0.0.1 -P 3306 -u root -e 'select 1' >/dev/null 2>&1; then
    # A fresh Debian install lets root in only through the socket: allow an empty password too.
    as_root mariadb -u root -e "ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
  fi
  mariadb -h 127.0.0.1 -P 3306 -u root -e 'CREATE DATABASE IF NOT EXISTS test' || {
    echo "root cannot log in to MariaDB on 127.0.0.1:3306 without a password" >&2
    exit 1
  }
}

# The browser test (tests/tests/browser.rs) drives Debian's Chromium with playwright-core.
ensure_browser() {
  if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
    log "installing chromium from Debian's packages (once)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
  fi
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
    echo "Node.js 20+ and npm are needed for the browser test (tests/browser)" >&2
    exit 1
  }
  # Reinstall when the lock file is newer than what npm installed from it.
  if [ ! -d tests/browser/node_modules/playwright-core ] ||
    [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
    log "installing playwright-core in tests/browser (npm ci)"
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The OpenID Connect tests run a real provider, panva's oidc-provider (tests/oidc/provider.mjs);
# the JWKS test verifies our tokens with panva's jose (tests/oidc/jwks-verify.mjs).
ensure_oidc_provider() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || {
    echo "Node.js 20+ and npm are needed for the OpenID provider of the tests (tests/oidc)" >&2
    exit 1
  }
  # Reinstall when the lock file is newer than what npm installed from it.
  if [ ! -d tests/oidc/node_modules/oidc-provider ] || [ ! -d tests/oidc/node_modules/jose ] ||
    [ tests/oidc/package-lock.json -nt tests/oidc/node_modules/.package-lock.json ]; then
    log "installing oidc-provider and jose in tests/oidc (npm ci)"
    (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The import test (tests/tests/server_import.rs) runs a real fastapi-users 15 app
# (tests/fastapi_users/app.py) from a virtual environment under target/.
FASTAPI_USERS_VENV=target/fastapi-users-venv
ensure_fastapi_users() {
  command -v python3 >/dev/null 2>&1 || {
    log "installing python3 from Debian's packages (once)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3 >/dev/null
  }
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    log "installing python3-venv from Debian's packages (once)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq python3-venv >/dev/null
  fi
  if ! "$FASTAPI_USERS_VENV/bin/python" -c 'import fastapi_users, uvicorn, aiosqlite' >/dev/null 2>&1; then
    log "creating $FASTAPI_USERS_VENV with fastapi-users 15 (pip, from PyPI)"
    python3 -m venv "$FASTAPI_USERS_VENV"
    "$FASTAPI_USERS_VENV/bin/pip" install --quiet --disable-pip-version-check \
      "fastapi-users[sqlalchemy]>=15,<16" uvicorn aiosqlite
  fi
  export FASTAPI_USERS_PYTHON="$PWD/$FASTAPI_USERS_VENV/bin/python"
}

ensure_postgres
ensure_redis
ensure_mariadb
log "PostgreSQL, Redis and MariaDB are up"
ensure_browser
log "Chromium and playwright-core are installed"
ensure_oidc_provider
log "oidc-provider and jose are installed"
ensure_fastapi_users
log "fastapi-users is installed in $FASTAPI_USERS_VENV"

# A three-master Redis Cluster on loopback ports for the cluster tests, stopped on exit.
export CLUSTER_PORTS="${CLUSTER_PORTS:-7001 7002 7003}"
log "starting a Redis Cluster on ports $CLUSTER_PORTS"
# A cluster left over from an interrupted run holds the ports: stop it first.
sh auth-redis/scripts/cluster.sh stop >/dev/null 2>&1 || true
cluster_env=$(sh auth-redis/scripts/cluster.sh start) || {
  echo "could not start the Redis Cluster on ports $CLUSTER_PORTS" >&2
  exit 1
}
export "$cluster_env"
trap 'sh auth-redis/scripts/cluster.sh stop >/dev/null 2>&1 || true' EXIT

log "cargo test --workspace --all-features"
cargo test --workspace --all-features "$@"
log "browser screenshots are in test-artifacts/browser/, test-artifacts/browser-oauth/ and test-artifacts/browser-mfa/"
