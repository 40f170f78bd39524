#!/usr/bin/env bash
# `make services`: the system services some tests need, installed from Debian's packages when missing
# (PostgreSQL for the order service and the two-server cluster, Redis for the lock store, Chromium
# for the browser tests). Tests only look for them: in CI (CI set) a missing one fails the test.
set -euo pipefail
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || need+=(postgresql)
command -v redis-server > /dev/null || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "services: PostgreSQL, Redis and Chromium are installed"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "services: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null
  echo "services: installed ${need[*]}"
elif [ -n "${CI:-}" ]; then
  echo "services: missing ${need[*]} and cannot install them here (needs root and apt-get)" >&2
  exit 1
else
  echo "services: missing ${need[*]} (install them as root: apt-get install ${need[*]}); the tests that need them are skipped" >&2
fi
