#!/usr/bin/env bash
# The serving part of `make bench`: gtr serve on a free loopback port, 64 sessions x 500 steps from a Python
# asyncio client, then the same single-session gymnasium loop on gtr serve and on the real engines in-process
# (ALFWorld from .venv-alfworld; gym-cards when GYM_CARDS points at a checkout of RL4VLM's gym-cards, which is not
# on PyPI). Skips with a message when the serving peers are not installed (make serve-peers).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv-serve/bin/python
if ! [ -x "$PY" ] || ! "$PY" -c "import websockets, openenv.core" 2>/dev/null; then
  echo "(no serving peers: make serve-peers for the gtr serve load bench)"; exit 0
fi
home=$(mktemp -d)
.build/release/gtr-serve port=0 home="$home" max_sessions=128 > "$home/serve.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$home"' EXIT
for _ in $(seq 100); do grep -q listening "$home/serve.out" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$home/serve.out" | head -1)
[ -n "$url" ] || { echo "gtr serve did not start:"; cat "$home/serve.out"; exit 1; }
args=(--sessions "${SESSIONS:-64}" --steps "${STEPS:-500}" --pid "$pid" --table --json .build/serve-load.json)
[ -n "${GYM_CARDS:-}" ] && args+=(--gym-cards "$GYM_CARDS")
"$PY" scripts/serve_load.py "$url" "${args[@]}" 2>/dev/null
