#!/usr/bin/env bash
# Starts two fake Anthropic upstreams on loopback and qccd in front of them,
# in the foreground. Ctrl-C stops qccd; the fakes are stopped by PID on exit.
set -euo pipefail
bin=${1:-bin}
cfg=packaging/examples/demo.toml

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$bin/fakeanthropic" -listen 127.0.0.1:7861 -events 12 -delay 80ms & pids+=($!)
"$bin/fakeanthropic" -listen 127.0.0.1:7862 -events 12 -delay 80ms & pids+=($!)
sleep 0.3

cat <<'MSG'

qccd demo: cluster "demo" on http://127.0.0.1:7860, two fake upstreams behind it.

Try, in another terminal:

  curl -sN http://127.0.0.1:7860/v1/messages \
    -H 'content-type: application/json' -H 'anthropic-version: 2023-06-01' -H 'x-api-key: demo' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Hello through qccd"}]}'

  ANTHROPIC_BASE_URL=http://127.0.0.1:7860 ANTHROPIC_API_KEY=demo claude -p "hello"

  bin/qcc status --admin /tmp/qccd-demo/admin.sock     # what is healthy
  open http://127.0.0.1:7870/                           # the live dashboard

(the fake upstreams echo your message back; point a real cluster at api.anthropic.com
 in /etc/qcc/clusters.toml to use Claude for real). Ctrl-C stops everything.

MSG
"$bin/qccd" --config "$cfg" --log-format console
