#!/usr/bin/env bash
# API fuzzing: schemathesis (installed by tests/setup/python-fuzz.sh) against the OpenAPI document a
# real `studio serve` hands out at /api/v1/openapi.json. It fails the run on any 5xx, on a status
# code or content type the document does not list for the operation, and on a body that does not
# match the documented schema (so every error must be the JSON `{"error","code"}` shape).
#
# The server is the debug binary (`cargo build -p studio`), on loopback, with a fresh SQLite data
# dir under $STUDIO_TEST_RUN_DIR and an API token. The one sandbox that exists is a `failed` one
# (below) and no generated repository can be set up, so requests exercise routing, auth,
# extraction, validation and the answers of a sandbox without a renderer: no renderer or npm
# install is ever started.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
: "${STUDIO_TEST_RUN_DIR:?run this through tests/run.sh (STUDIO_TEST_RUN_DIR is unset)}"

schemathesis="$STUDIO_TEST_RUN_DIR/fuzz-venv/bin/schemathesis"
[ -x "$schemathesis" ] || bash tests/setup/python-fuzz.sh
cargo build -p studio --quiet
# Where cargo put it (CARGO_TARGET_DIR moves the build out of the checkout).
studio="${CARGO_TARGET_DIR:-$root/target}/debug/studio"

# Test cases per operation (22 operations; the examples, coverage and fuzzing phases; no links, so
# no stateful phase). 400 takes 70 to 110 s of schemathesis on two shared cores; the timeout below
# bounds it whatever happens, so the whole step stays within 5 minutes.
MAX_EXAMPLES=${STUDIO_FUZZ_MAX_EXAMPLES:-400}
SEED=${STUDIO_FUZZ_SEED:-20261207}
RUN_TIMEOUT=${STUDIO_FUZZ_TIMEOUT:-240}

work=$(mktemp -d "$STUDIO_TEST_RUN_DIR/fuzz.XXXXXX")
# The renderers' jail user must be able to search every directory above the data dir, or the
# server is not ready (503 `jail_unavailable`); mktemp makes the directory private.
chmod 755 "$work"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
base="http://127.0.0.1:$port"
mkdir -p "$work/cwd"

# The server runs in an empty directory: with local sources allowed, a generated `repository` of
# "." must not name the checkout this script runs in.
(
  cd "$work/cwd"
  exec env STUDIO_API_TOKEN="$token" STUDIO_ALLOW_LOCAL_SOURCES=1 STUDIO_LOG=warn \
    COMPONENT_STUDIO_TEMPLATE_DIR="$root/studio-template" \
    "$studio" serve --listen "127.0.0.1:$port" --data-dir "$work/data"
) >"$work/server.log" 2>&1 &
server_pid=$!

ready=""
for _ in $(seq 1 300); do
  if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  echo "the server did not become ready on $base; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi

# One sandbox that exists, so the sandbox routes answer more than 404: a repository whose
# package.json is a symlink fails setup at once (422 `unsafe_manifest`: no npm, no renderer), and
# the record stays as `failed` (docs/api.md, "Create"). Its status, logs, tokens and preview link
# answer 200; its edits and lifecycle routes answer 409. The fuzzer learns the repository's path
# from GET /api/v1/sandboxes and creates sandboxes on it too, each answered 422 the same way.
# (A repository with no package.json at all is answered 502 `renderer_preparation_failed`, a 5xx
# for the caller's own repository: reported, to be reclassified in studio-sandbox.)
git init --quiet --initial-branch=main "$work/repo"
echo 'fuzz' >"$work/repo/README.md"
ln -s README.md "$work/repo/package.json"
git -C "$work/repo" add README.md package.json
git -C "$work/repo" -c user.name=fuzz -c user.email=fuzz@localhost commit --quiet -m init
api() { curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "$@"; }
api -o /dev/null -X POST -d "{\"repository\": \"$work/repo\"}" "$base/api/v1/sandboxes"
sandbox=$(api "$base/api/v1/sandboxes" | python3 -c '
import json, sys
boxes = json.load(sys.stdin)["sandboxes"]
if len(boxes) != 1 or boxes[0]["status"] != "failed":
    sys.exit(f"expected one failed sandbox, got {boxes}")
print(boxes[0]["id"])')

# Most generated ids of the sandbox routes are that sandbox's (the rest stay random, for the 404s).
# DELETE /api/v1/sandboxes/{id} keeps random ids, so the sandbox lives through the whole run.
cat >"$work/schemathesis.toml" <<TOML
[dictionaries.sandbox]
values = ["$sandbox"]

[[operations]]
include-path-regex = '^/api/v1/sandboxes/\{id\}/'
parameters = { "path.id" = { dictionary = "sandbox", probability = 0.8 } }

[[operations]]
include-name = "GET /api/v1/sandboxes/{id}"
parameters = { "path.id" = { dictionary = "sandbox", probability = 0.8 } }
TOML

started=$(date +%s)
status=0
timeout --kill-after=10 "$RUN_TIMEOUT" "$schemathesis" --config-file "$work/schemathesis.toml" \
  run "$base/api/v1/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --generation-database none \
  --phases examples,coverage,fuzzing \
  --workers 2 \
  --request-timeout 30 \
  --no-color \
  -H "Authorization: Bearer $token" \
  || status=$?
echo "schemathesis took $(($(date +%s) - started)) s (exit $status)"

if [ "$status" -ne 0 ]; then
  [ "$status" -eq 124 ] && echo "schemathesis did not finish within ${RUN_TIMEOUT} s" >&2
  echo "--- server log (warnings and errors) ---" >&2
  tail -n 100 "$work/server.log" >&2
  exit "$status"
fi
if ! kill -0 "$server_pid" 2>/dev/null; then
  echo "the server died during the run; its log:" >&2
  cat "$work/server.log" >&2
  exit 1
fi
