#!/usr/bin/env bash
# Mirrors the Dockerfile where no Docker engine runs: copies the tree as Docker would send it
# (filtered by .dockerignore, so no .git), builds the binary there with the Dockerfile's command
# (static, CGO off, the commit passed in as the JEEVES_COMMIT build argument), checks that
# `--version` names the distribution version, that commit and the collector release, creates the
# queue directory as the image does, runs the binary with the image's environment and config path
# (as the image's uid 65532 when run as root), and checks that the health endpoint answers, the
# queue file is created in that directory, and the process stops cleanly on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT

# The build context: every file not excluded by .dockerignore (Docker's rules for the plain globs
# used there: anchored at the root, `**/` for any depth, an excluded directory excludes its contents).
ctx="$work/context"
python3 - "$ctx" <<'PY'
import fnmatch, os, shutil, sys
dst = sys.argv[1]
pats = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]
if any(p.startswith("!") for p in pats):
    sys.exit("image-smoke: .dockerignore exceptions (!) are not mirrored here")
def excluded(rel):
    parts = rel.split("/")
    for i in range(1, len(parts) + 1):
        sub = "/".join(parts[:i])
        for p in pats:
            if fnmatch.fnmatchcase(sub, p) or (p.startswith("**/") and fnmatch.fnmatchcase(sub, p[3:])):
                return True
    return False
for root, dirs, files in os.walk("."):
    rel_root = os.path.relpath(root, ".")
    rel = lambda n: n if rel_root == "." else rel_root + "/" + n
    dirs[:] = [d for d in dirs if not excluded(rel(d))]
    for f in files:
        if not excluded(rel(f)):
            os.makedirs(os.path.join(dst, rel_root), exist_ok=True)
            shutil.copy2(os.path.join(root, f), os.path.join(dst, rel(f)), follow_symlinks=False)
PY
[ ! -e "$ctx/.git" ] && [ ! -e "$ctx/bin" ] || { echo "image-smoke: .dockerignore lets .git or bin/ into the context" >&2; exit 1; }

# `docker build --build-arg JEEVES_COMMIT=$(git rev-parse --short=12 HEAD)`, as the Dockerfile says.
commit=$(git rev-parse --short=12 HEAD)
(cd "$ctx" && JEEVES_COMMIT=$commit CGO_ENABLED=0 ./scripts/build-collector.sh "$work/otelcol-jeeves" -ldflags="-s -w")
if ldd "$work/otelcol-jeeves" >/dev/null 2>&1; then
  echo "image-smoke: binary is not static" >&2; exit 1
fi
# Expected values from the manifest: dist.version and the core release of the OTLP receiver.
version=$(sed -n 's/^  version: \(.*\)$/\1/p' builder-config.yaml)
release=$(sed -n 's#^ *- gomod: go\.opentelemetry\.io/collector/receiver/otlpreceiver \(v[^ ]*\)$#\1#p' builder-config.yaml)
want="otelcol-jeeves version $version (commit $commit, collector $release)"
got=$("$work/otelcol-jeeves" --version)
if [ -z "$version" ] || [ -z "$release" ] || [ "$got" != "$want" ]; then
  echo "image-smoke: FAIL (--version says '$got', want '$want')" >&2; exit 1
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
echo "image-smoke: ok ($got; static binary healthy on the image config, queue in the image's volume, clean SIGTERM)"
