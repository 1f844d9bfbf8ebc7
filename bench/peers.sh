#!/bin/sh
# The peers npm run bench -- --peers measures taskwatch beside: pm2 (from the npm registry, into
# bench/.peers, never globally), supervisord and nq (Debian's supervisor and nq packages, installed only
# as root; GNU timeout is coreutils); and Debian's chromium, which shows control --serve's page.
# Idempotent and quiet when both are there; a peer that cannot be installed is reported, not fatal.
set -u
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$here/.peers/node_modules/.bin/pm2" ]; then
  echo "bench: installing pm2 into bench/.peers" >&2
  mkdir -p "$here/.peers"
  [ -f "$here/.peers/package.json" ] || echo '{"private":true}' > "$here/.peers/package.json"
  npm install --prefix "$here/.peers" --no-audit --no-fund --silent pm2@6 >&2 || echo "bench: could not install pm2; its figures are skipped" >&2
fi
# debian COMMAND PACKAGE LOSS [apt-get option...]: installs PACKAGE when COMMAND is missing (as root
# only), or says what goes unmeasured without it.
debian() {
  cmd=$1 pkg=$2 loss=$3
  shift 3
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing Debian's $pkg package" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" "$pkg") >/dev/null 2>&1 \
      || echo "bench: could not install $pkg; $loss" >&2
  else
    echo "bench: $cmd is not installed (apt-get install $pkg, as root); $loss" >&2
  fi
}
debian supervisord supervisor "its figures are skipped" --no-install-recommends
debian nq nq "its figures are skipped" --no-install-recommends
debian chromium chromium "the page's event latency is not measured"
exit 0
