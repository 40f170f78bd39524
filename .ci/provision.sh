#!/usr/bin/env bash
# `make services`: the system services some tests need, installed from Debian's packages when missing
# (PostgreSQL for the order service and the two-server cluster, Redis for the lock store, nginx for
# several Rasa workers behind one port (RASA_WORKERS, docs/scaling.md), Chromium and the
# playwright-core driver (tests/e2e/browser/package.json) for the browser tests). Tests only look
# for them: in CI (CI set) a missing one fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The browser tests' driver, from the npm registry as pinned (no browser download: Debian's Chromium).
driver=tests/e2e/browser
wanted=$(sed -n 's/.*"playwright-core": "\(.*\)".*/\1/p' $driver/package.json)
installed=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' $driver/node_modules/playwright-core/package.json 2>/dev/null || true)
if [ "$installed" != "$wanted" ]; then
  if command -v npm > /dev/null; then
    npm install --prefix $driver --no-audit --no-fund --ignore-scripts --no-package-lock --silent
    echo "services: installed playwright-core $wanted"
  elif [ -n "${CI:-}" ]; then
    echo "services: npm is missing: cannot install playwright-core for the browser tests" >&2
    exit 1
  fi
fi
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || need+=(postgresql)
command -v redis-server > /dev/null || need+=(redis-server)
[ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/bin/chromium ] || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "services: PostgreSQL, Redis, nginx and Chromium are installed"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
  echo "services: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # The launcher and the tests run their own instances: the packages' system services must not
  # start (nginx would take port 80), so service starts are refused during the install.
  policy=/usr/sbin/policy-rc.d; own_policy=
  if [ ! -e $policy ]; then printf '#!/bin/sh\nexit 101\n' > $policy; chmod +x $policy; own_policy=1; fi
  apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null
  [ -z "$own_policy" ] || rm -f $policy
  echo "services: installed ${need[*]}"
elif [ -n "${CI:-}" ]; then
  echo "services: missing ${need[*]} and cannot install them here (needs root and apt-get)" >&2
  exit 1
else
  echo "services: missing ${need[*]} (install them as root: apt-get install ${need[*]}); the tests that need them are skipped" >&2
fi
