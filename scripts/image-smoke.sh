#!/usr/bin/env bash
# Mirrors the Dockerfile where no Docker engine runs: builds the binary the way the image does
# (static, CGO off), creates the queue directory as the image does, runs the binary with the image's
# environment and config path (as the image's uid 65532 when run as root), and checks that the
# health endpoint answers, the queue file is created in that directory, and the process stops
# cleanly on SIGTERM.
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
queue="$work/var/lib/otelcol-jeeves/queue"
install -d -m 0750 "$queue"
# USER 65532:65532 and COPY --chown=65532:65532: as root, drop to that user and hand it the queue
# directory, so a directory the image's user cannot write fails here too.
as_user=()
if [ "$(id -u)" = 0 ]; then
  chmod 0755 "$work"
  chown -R 65532:65532 "$work/var/lib/otelcol-jeeves"
  as_user=(setpriv --reuid=65532 --regid=65532 --clear-groups)
fi

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
health=$(port)
# The image binds 0.0.0.0; here the same listeners bind loopback on free ports so the check never
# collides with anything else on the machine.
env -i PATH=/usr/bin:/bin \
  JEEVES_OTLP_GRPC_ENDPOINT=127.0.0.1:$(port) JEEVES_OTLP_HTTP_ENDPOINT=127.0.0.1:$(port) \
  JEEVES_PROMETHEUS_ENDPOINT=127.0.0.1:$(port) JEEVES_HEALTH_ENDPOINT=127.0.0.1:$health \
  JEEVES_HEALTH_STATUS_ENDPOINT=127.0.0.1:$(port) \
  JEEVES_TELEMETRY_PORT=$(port) JEEVES_PPROF_ENDPOINT=127.0.0.1:$(port) \
  JEEVES_ZPAGES_ENDPOINT=127.0.0.1:$(port) JAEGER_OTLP_ENDPOINT=127.0.0.1:$(port) \
  JEEVES_COMMBUS_ENDPOINT=127.0.0.1:$(port) JEEVES_STORAGE_DIR="$queue" \
  "${as_user[@]}" "$work/otelcol-jeeves" --config="$work/etc/otelcol-jeeves/config.yaml" >"$work/log" 2>&1 &
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
if [ ! -s "$queue/exporter_otlp_grpc_jaeger_traces" ]; then
  cat "$work/log" >&2
  echo "image-smoke: FAIL (no export queue in $queue)" >&2; exit 1
fi
echo "image-smoke: ok (static binary healthy on the image config, queue in the image's volume, clean SIGTERM)"
