#!/usr/bin/env bash
# Installs the GitHub API test peer used by studio-forge's tests and benchmark (run by tests/run.sh):
#   tests/github-peer/node_modules   Prism 5.14.2 + @octokit/openapi 23.0.2, exactly as package-lock.json pins
#   $STUDIO_TEST_RUN_DIR/github-peer/pulls.openapi.json
#                                    GitHub's description trimmed to the pulls paths, examples repaired
# `npm ci` is skipped when node_modules already matches the lockfile (it wipes and refetches ~475 MB
# otherwise); the description is regenerated every time (about 2 s).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
peer="$root/tests/github-peer"
run_dir="${STUDIO_TEST_RUN_DIR:-$root/tests/.run}"
stamp="$peer/node_modules/.studio-lock-sha256"

lock_sum=$(sha256sum "$peer/package-lock.json" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] && [ -x "$peer/node_modules/.bin/prism" ]; then
  echo "github-peer: node_modules up to date"
else
  echo "github-peer: npm ci"
  (cd "$peer" && npm ci --no-audit --no-fund --prefer-offline --loglevel=error)
  echo "$lock_sum" >"$stamp"
fi

node "$peer/trim-description.mjs" "$run_dir/github-peer/pulls.openapi.json"
