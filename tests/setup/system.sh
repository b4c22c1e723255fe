#!/usr/bin/env bash
# Installs the Debian packages the tests need, only those that are missing.
#   chromium        the browser the renderer tests drive (via playwright-core; never a downloaded one)
#   postgresql      initdb/pg_ctl for a throwaway cluster
#   libssl-dev, pkg-config, cmake   libgit2's https/ssh transports
#   git             the CLI the git tests use to verify what git2 wrote
#   nodejs, npm     Vite and the test tooling (if the machine has none)
#   bubblewrap      the jail every renderer and npm install runs in
#   sqlite3         tests and the soak benchmark read the server's SQLite file behind its back
# and the `studio-sandbox` system user jailed processes run as (Studio runs as root in CI).
set -euo pipefail

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

have_cmd chromium || need+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
have_pkg libssl-dev || need+=(libssl-dev)
have_cmd pkg-config || need+=(pkg-config)
have_cmd git || need+=(git)
have_cmd node || need+=(nodejs npm)
have_cmd python3 || need+=(python3)
have_cmd bwrap || need+=(bubblewrap)
have_cmd sqlite3 || need+=(sqlite3)

# The user renderers and npm run as in their jail: a system user with no home and no shell.
if [ "$(id -u)" -eq 0 ] && ! getent passwd studio-sandbox >/dev/null; then
  useradd --system --no-create-home --shell /usr/sbin/nologin studio-sandbox
  echo "created the system user studio-sandbox"
fi

# Each Vite renderer (and each Chromium) holds inotify instances; Debian's default of 128 per user
# runs out when the suite runs many renderers in parallel, and a Vite whose watcher cannot start
# silently serves stale files. Raise it (root only; the setting is the kernel's, not the project's).
want_inotify=1024
if [ "$(id -u)" -eq 0 ] && [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt "$want_inotify" ]; then
  sysctl -qw fs.inotify.max_user_instances=$want_inotify && echo "fs.inotify.max_user_instances raised to $want_inotify"
fi

if [ ${#need[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "missing system packages: ${need[*]} (run as root or install them)" >&2
  exit 1
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}"
