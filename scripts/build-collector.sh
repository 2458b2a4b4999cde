#!/usr/bin/env bash
# Builds the collector (cmd/otelcol-jeeves, its own Go module) into $1 so that `--version` says
# which build it is:
#
#   otelcol-jeeves version 0.1.0 (commit 0123456789ab, collector v0.165.0)
#
# the distribution version (dist.version in builder-config.yaml, as OCB wrote it into main.go),
# the commit, and the collector release (go.opentelemetry.io/collector/otelcol in the module's
# go.mod). OCB writes the version as a string literal inside main(), which `-ldflags -X` cannot
# reach, and cmd/otelcol-jeeves must stay exactly what OCB generates (`make check-dist`); so the
# compiler is handed a copy of main.go with that one literal extended, through `go build -overlay`,
# and the committed file is never changed.
#
# The commit is $JEEVES_COMMIT when set (the Docker build has no .git: the Dockerfile passes it as
# a build argument), else `git rev-parse` here with "-dirty" when the tree has uncommitted changes,
# else "unknown". -buildvcs=false: the commit is stamped above, so a build from a checkout and the
# image's build from the same commit produce the same binary.
#
# Further arguments go to `go build` (the image adds -ldflags="-s -w"; set CGO_ENABLED as needed).
# make build, scripts/image-smoke.sh and the Dockerfile all build the collector with this script.
set -euo pipefail
out=${1:?usage: build-collector.sh OUTPUT [go build flags...]}
shift
root=$(cd "$(dirname "$0")/.." && pwd)
case $out in /*) ;; *) out="$PWD/$out" ;; esac
dist="$root/cmd/otelcol-jeeves"

commit=${JEEVES_COMMIT:-}
if [ -z "$commit" ]; then
  if commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null); then
    if [ -n "$(git -C "$root" status --porcelain 2>/dev/null)" ]; then commit="$commit-dirty"; fi
  else
    commit=unknown
  fi
fi
release=$(sed -n 's#^[[:space:]]*go\.opentelemetry\.io/collector/otelcol \(v[^ ]*\)$#\1#p' "$dist/go.mod")
[ -n "$release" ] || { echo "build-collector: no go.opentelemetry.io/collector/otelcol in $dist/go.mod" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The one line OCB's template writes: `Version: "<dist.version>",` in the BuildInfo literal.
sed -E 's#^([[:space:]]*Version:[[:space:]]*")([^"]*)(",)$#\1\2 (commit '"$commit"', collector '"$release"')\3#' \
  "$dist/main.go" >"$work/main.go"
if cmp -s "$dist/main.go" "$work/main.go"; then
  echo "build-collector: no 'Version: \"...\",' line in $dist/main.go (did the OCB template change?)" >&2; exit 1
fi
printf '{"Replace":{"%s":"%s"}}\n' "$dist/main.go" "$work/main.go" >"$work/overlay.json"
cd "$dist"
go build -trimpath -buildvcs=false -overlay "$work/overlay.json" "$@" -o "$out" .
