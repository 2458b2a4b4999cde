#!/usr/bin/env bash
# Builds the local Go vulnerability database that `make vuln` scans against and prints its
# directory (pass it to govulncheck as -db file://<dir>). The database is the Go team's own: the OSV
# entries in the golang.org/x/vulndb module at one pinned commit (data/osv/*.json), indexed by that
# module's cmd/indexdb into the v1 layout govulncheck reads (index/db.json, index/modules.json,
# index/vulns.json and ID/<id>.json, each also gzipped). Nothing is fetched at scan time.
#
# The result is cached in $VULNDB_CACHE (default ~/.cache/otelcol-jeeves) as vulndb-<version>; a
# cached one is reused. A cold build downloads cmd/indexdb's dependencies and compiles them (minutes;
# see docs/security.md#vulnerability-scan); later runs print the cached path at once.
# Bump: change `version` to a newer pseudo-version of golang.org/x/vulndb (`go list -m
# golang.org/x/vulndb@master` from an empty directory prints the latest).
set -euo pipefail
version=${VULNDB_VERSION:-v0.0.0-20261105234957-e22db6528018}
cache=${VULNDB_CACHE:-$HOME/.cache/otelcol-jeeves}
db="$cache/vulndb-$version"
if [ -s "$db/index/modules.json" ]; then
  echo "$db"
  exit 0
fi
mkdir -p "$cache"
# Downloaded and run from an empty directory, so that no go.mod (ours included) is consulted or
# touched: the module's own go.mod pins indexdb's dependencies.
empty=$(mktemp -d)
out="$db.tmp.$$"
trap 'rm -rf "$empty" "$out"' EXIT
dir=$(cd "$empty" && go mod download -json "golang.org/x/vulndb@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir/data/osv" ] || { echo "build-vulndb: module download failed (no data/osv in '$dir')" >&2; exit 1; }
(cd "$empty" && go run "golang.org/x/vulndb/cmd/indexdb@$version" -vulns "$dir/data/osv" -out "$out") >&2
entries=$(find "$dir/data/osv" -name '*.json' | wc -l)
indexed=$(find "$out/ID" -name '*.json' | wc -l)
if [ "$entries" -eq 0 ] || [ "$entries" != "$indexed" ]; then
  echo "build-vulndb: $entries OSV entries in the module, $indexed in the database" >&2; exit 1
fi
rm -rf "$db"
mv "$out" "$db"
echo "build-vulndb: $entries entries from golang.org/x/vulndb@$version" >&2
echo "$db"
