#!/usr/bin/env bash
# Installs the real backends the tests run against (Prometheus, promtool, Alertmanager, amtool) from
# Debian's packages when they are missing. Idempotent; needs root (or sudo) only when installing.
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing test dependencies: ${need[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# The packages start no service here (no init system); tests start their own processes on free ports.
