#!/usr/bin/env bash
# Installs the browser-test tooling (playwright-core, which drives Debian's /usr/bin/chromium; it never
# downloads a browser of its own). Run by tests/run.sh before the cargo tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../browser"
npm ci --prefer-offline --no-audit --no-fund --loglevel=error
