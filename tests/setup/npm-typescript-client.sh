#!/usr/bin/env bash
# Installs the TypeScript client's build tools (typescript, openapi-typescript; the client itself
# has no runtime dependencies), which its tests use to check that the committed src/openapi.ts and
# dist/ are fresh. Run by tests/run.sh before the cargo tests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../clients/typescript"
npm ci --prefer-offline --no-audit --no-fund --loglevel=error
