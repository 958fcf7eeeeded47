#!/usr/bin/env bash
# Installs the Debian packages the local stack needs when they are missing (CI machines are
# fresh): the PostgreSQL server binaries (plus contrib for unaccent/pg_trgm).
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || command -v initdb >/dev/null; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "PostgreSQL server binaries are missing: install 'postgresql' (initdb, pg_ctl)" >&2
  exit 1
fi
echo "Installing PostgreSQL server binaries (apt-get install postgresql)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql postgresql-contrib >/dev/null
