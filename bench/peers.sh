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
if ! command -v supervisord >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing Debian's supervisor package" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends supervisor) >/dev/null 2>&1 \
      || echo "bench: could not install supervisor; its figures are skipped" >&2
  else
    echo "bench: supervisord is not installed (apt-get install supervisor, as root); its figures are skipped" >&2
  fi
fi
if ! command -v nq >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing Debian's nq package" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nq) >/dev/null 2>&1 \
      || echo "bench: could not install nq; its figures are skipped" >&2
  else
    echo "bench: nq is not installed (apt-get install nq, as root); its figures are skipped" >&2
  fi
fi
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "bench: installing Debian's chromium (for the page's event latency)" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 \
      || echo "bench: could not install chromium; the page's event latency is not measured" >&2
  else
    echo "bench: chromium is not installed (apt-get install chromium, as root); the page's event latency is not measured" >&2
  fi
fi
exit 0
