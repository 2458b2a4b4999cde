#!/usr/bin/env bash
# Mirrors the Dockerfile where no Docker engine runs: builds the binary the way the image does
# (static, CGO off), runs it with the image's environment and config path, and checks that the
# health endpoint answers and the process stops cleanly on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd cmd/otelcol-jeeves && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$work/otelcol-jeeves" .)
if ldd "$work/otelcol-jeeves" >/dev/null 2>&1; then
  echo "image-smoke: binary is not static" >&2; exit 1
fi
mkdir -p "$work/etc/otelcol-jeeves"
cp configs/otelcol-jeeves.yaml "$work/etc/otelcol-jeeves/config.yaml"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
health=$(port)
# The image binds 0.0.0.0; here the same listeners bind loopback on free ports so the check never
# collides with anything else on the machine.
env -i PATH=/usr/bin:/bin \
  JEEVES_OTLP_GRPC_ENDPOINT=127.0.0.1:$(port) JEEVES_OTLP_HTTP_ENDPOINT=127.0.0.1:$(port) \
  JEEVES_PROMETHEUS_ENDPOINT=127.0.0.1:$(port) JEEVES_HEALTH_ENDPOINT=127.0.0.1:$health \
  JEEVES_TELEMETRY_PORT=$(port) JEEVES_PPROF_ENDPOINT=127.0.0.1:$(port) \
  JEEVES_ZPAGES_ENDPOINT=127.0.0.1:$(port) JAEGER_OTLP_ENDPOINT=127.0.0.1:$(port) \
  JEEVES_COMMBUS_ENDPOINT=127.0.0.1:$(port) \
  "$work/otelcol-jeeves" --config="$work/etc/otelcol-jeeves/config.yaml" >"$work/log" 2>&1 &
pid=$!
ok=""
for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$health/" >/dev/null 2>&1; then ok=1; break; fi
  sleep 0.1
done
if [ -z "$ok" ]; then
  kill "$pid" 2>/dev/null || true
  cat "$work/log" >&2
  echo "image-smoke: FAIL (not healthy)" >&2; exit 1
fi
kill -TERM "$pid"
wait "$pid"
echo "image-smoke: ok (static binary healthy on the image config, clean SIGTERM)"
