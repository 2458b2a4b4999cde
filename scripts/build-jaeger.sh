#!/usr/bin/env bash
# Builds Jaeger v2 (all-in-one, release v2.13.0 = Go module v1.76.0) for the end-to-end tests and
# prints the binary's path. `go install` cannot build it (the module has replace directives), so the
# module source is fetched from the Go module proxy, copied somewhere writable and built there.
# The binary is cached in $JAEGER_CACHE (default ~/.cache/otelcol-jeeves); a cached one is reused.
set -euo pipefail
version=v1.76.0
cache=${JAEGER_CACHE:-$HOME/.cache/otelcol-jeeves}
bin="$cache/jaeger-$version"
if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$cache"
# Downloaded from an empty directory, so that no go.mod (ours included) is consulted or touched.
dl=$(mktemp -d)
dir=$(cd "$dl" && go mod download -json "github.com/jaegertracing/jaeger@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
rmdir "$dl"
[ -d "$dir" ] || { echo "build-jaeger: module download failed" >&2; exit 1; }
src=$(mktemp -d)
trap 'chmod -R u+w "$src"; rm -rf "$src"' EXIT
cp -r "$dir/." "$src/"
chmod -R u+w "$src"
(cd "$src" && GOFLAGS=-mod=mod go build -trimpath -o "$bin.tmp" ./cmd/jaeger) >&2
mv "$bin.tmp" "$bin"
echo "$bin"
