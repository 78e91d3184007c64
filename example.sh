#!/usr/bin/env bash
# dashrelay demo: builds, starts the server, publishes a synthetic 720p test source with a tone,
# prints the viewer and capture URLs, and stops everything on Ctrl-C or any key.
set -euo pipefail
cd "$(dirname "$0")"

PORT="${PORT:-8080}"
HOST="${HOST:-127.0.0.1}"
STREAM="${STREAM:-demo}"
URL="http://${HOST}:${PORT}"
LOG="output/server.log"

say() { printf '\033[1m%s\033[0m\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "Node.js 20 or newer is needed: https://nodejs.org (or: apt-get install nodejs npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js 20 or newer is needed (found $(node --version))"
if ! command -v ffmpeg >/dev/null 2>&1 && [ -z "${FFMPEG_PATH:-}" ]; then
  die "ffmpeg is needed: sudo apt-get install ffmpeg (or set FFMPEG_PATH to an ffmpeg 5.1+ binary)"
fi

if [ ! -d node_modules ]; then
  say "Installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/cli/main.js ] || [ -n "$(find src -newer dist/cli/main.js -print -quit)" ]; then
  say "Building…"
  npm run --silent build
fi

if (exec 3<>"/dev/tcp/${HOST}/${PORT}") 2>/dev/null; then
  die "port ${PORT} is already in use; run PORT=8081 ./example.sh"
fi

mkdir -p output
pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  say "Stopping the demo…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  say "Stopped. Archives are in output/${STREAM}/archive/, the server log in ${LOG}."
}
trap cleanup EXIT INT TERM

say "Starting the server on ${URL} (log: ${LOG})…"
node dist/cli/main.js serve --host "$HOST" --port "$PORT" >"$LOG" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do
  if node -e "fetch('${URL}/api/streams').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then cat "$LOG" >&2; die "the server did not start (see above)"; fi
  sleep 0.2
done

say "Publishing a 1280x720 30 fps test pattern with a 440 Hz tone as stream \"${STREAM}\"…"
node dist/cli/main.js publish --server "$URL" --stream "$STREAM" \
  --input "testsrc2=size=1280x720:rate=30" --input-format lavfi \
  --audio "sine=frequency=440:sample_rate=48000" --audio-format lavfi &
pids+=($!)

cat <<TXT

  Watch the stream:      ${URL}/viewer.html?stream=${STREAM}
  All live streams:      ${URL}/
  Publish your webcam:   ${URL}/capture.html?stream=cam1
  Live DASH manifest:    ${URL}/live/${STREAM}/manifest.mpd

TXT
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null 2>&1; then
  xdg-open "${URL}/viewer.html?stream=${STREAM}" >/dev/null 2>&1 || true
fi

if [ -t 0 ]; then
  say "Press any key (or Ctrl-C) to stop."
  read -r -n 1 -s || true
else
  say "Press Ctrl-C to stop."
  wait "${pids[0]}"
fi
