#!/usr/bin/env bash
# Installs the Debian packages the local stack and its tests need when they are missing (CI
# machines are fresh): the PostgreSQL server binaries (plus contrib for unaccent/pg_trgm) and
# Chromium for the portal's browser tests (driven by Playwright; never `playwright install`),
# Prometheus for the test that scrapes every service's metrics (tests/e2e/test_prometheus.py),
# and npm (with Node.js) for `npm ci` of tests/e2e/package-lock.json: axe-core, which the browser
# tests inject into every page they reach.
set -euo pipefail
packages=()
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null; then
  packages+=(postgresql postgresql-contrib)
fi
if [ ! -x /usr/bin/chromium ]; then
  packages+=(chromium)
fi
if [ ! -x /usr/bin/prometheus ]; then
  packages+=(prometheus)
fi
if ! command -v npm >/dev/null; then
  packages+=(nodejs npm)
fi
if [ ${#packages[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing system packages: install ${packages[*]} (PostgreSQL initdb/pg_ctl, /usr/bin/chromium, /usr/bin/prometheus, npm)" >&2
  exit 1
fi
echo "Installing system packages (apt-get install ${packages[*]})"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${packages[@]}" >/dev/null
