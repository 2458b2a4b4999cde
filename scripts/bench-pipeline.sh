#!/usr/bin/env bash
# Whole-binary CPU benchmark: collector CPU time per span, peak RSS and spans forwarded, for
# otelcol-jeeves and a contrib collector doing the same job, on the same jeeves-loadgen workload.
#
# Usage:  make bench-pipeline            (builds bin/ first, then runs this script)
#         scripts/bench-pipeline.sh      (uses bin/otelcol-jeeves and bin/jeeves-loadgen)
#
# Configurations (test/benchpipeline/*.yaml and configs/otelcol-jeeves.yaml), run round-robin,
# BENCH_ROUNDS rounds, each on a fresh collector and a fresh sink:
#   bare          otelcol-jeeves: otlp -> batch -> otlp_grpc (sink)
#   receive-only  otelcol-jeeves: otlp -> batch -> debug (basic), nothing forwarded
#   contrib-tail  contrib: otlp -> batch -> span_metrics (prometheus) + tail_sampling -> sink
#   contrib-head  contrib: otlp -> batch -> span_metrics (prometheus) + probabilistic_sampler -> sink
#   jeeves-tail   otelcol-jeeves on configs/otelcol-jeeves.yaml (tail sampling), Jaeger = sink
#   jeeves-head   the same with JEEVES_SAMPLING_MODE=head
#   router        otelcol-jeeves on configs/otelcol-jeeves-router.yaml (trace-id routing), its one
#                 backend = sink (not in the default set: BENCH_CONFIGS="router jeeves-tail ...")
#   router-none   the same with JEEVES_ROUTER_COMPRESSION=none (no gzip towards the backends)
# With BASELINE_BIN set, jeeves-tail@baseline and jeeves-head@baseline run that binary as well.
#
# Per run: the collector's utime+stime (/proc/PID/stat) from its start until forwarding has
# drained (the sink's span count stable), divided by the spans sent; VmHWM just before it is
# stopped; the spans the sink received. Prints one table (medians over rounds) and the path of
# the raw results (results.tsv) and logs.
#
# The comparison collector is built with OCB from test/benchpipeline/builder-config.yaml on first
# use (~2-4 min) and cached in $BENCH_CACHE (default ~/.cache/otelcol-jeeves/bench-contrib-<hash>).
#
# Environment (defaults in brackets):
#   JEEVES_BIN     collector under test [bin/otelcol-jeeves]
#   LOADGEN_BIN    traffic generator [bin/jeeves-loadgen]
#   BASELINE_BIN   an older otelcol-jeeves to compare in the same run [unset]
#   JEEVES_CONFIG  config of the jeeves-* runs [configs/otelcol-jeeves.yaml]
#   BENCH_ROUNDS   rounds [3]
#   BENCH_TRACES   traces per run [30000] (~489k spans with seed 1)
#   BENCH_RATE     traces per second [1000] (~16k spans/s)
#   BENCH_SEED     loadgen seed [1]
#   BENCH_CONFIGS  space-separated subset of the configurations above [the first six]
#   BENCH_OUT      results directory [a new /tmp/bench-pipeline.XXXXXX]
#   BENCH_CACHE    where the comparison collector is cached [~/.cache/otelcol-jeeves]
#   CONTRIB_BIN    use this comparison collector instead of building one
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bp="$repo/test/benchpipeline"

JEEVES_BIN=${JEEVES_BIN:-$repo/bin/otelcol-jeeves}
LOADGEN_BIN=${LOADGEN_BIN:-$repo/bin/jeeves-loadgen}
BASELINE_BIN=${BASELINE_BIN:-}
JEEVES_CONFIG=${JEEVES_CONFIG:-$repo/configs/otelcol-jeeves.yaml}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_TRACES=${BENCH_TRACES:-30000}
BENCH_RATE=${BENCH_RATE:-1000}
BENCH_SEED=${BENCH_SEED:-1}
BENCH_CONFIGS=${BENCH_CONFIGS:-bare receive-only contrib-tail contrib-head jeeves-tail jeeves-head}
BENCH_CACHE=${BENCH_CACHE:-$HOME/.cache/otelcol-jeeves}
CONTRIB_BIN=${CONTRIB_BIN:-}
GO=${GO:-go}

# The jeeves connector's and tail_sampling's decision_wait (10s): a tail run cannot have drained
# before this long after the last span was sent.
tail_wait=11
# Forwarding has drained when the sink's count has not moved for this long (seconds, 0.25 s polls).
stable_secs=2
# Give up waiting for a drain after this long (seconds after the load ended).
max_drain=120

log() { printf '%s bench-pipeline: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

for v in BENCH_ROUNDS BENCH_TRACES BENCH_RATE BENCH_SEED; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
((BENCH_ROUNDS > 0)) || die "BENCH_ROUNDS must be at least 1"
for b in "$JEEVES_BIN" "$LOADGEN_BIN" ${BASELINE_BIN:+"$BASELINE_BIN"}; do
  [[ -x $b ]] || die "$b is not an executable: run 'make build', or set JEEVES_BIN / LOADGEN_BIN / BASELINE_BIN"
done
[[ -r $JEEVES_CONFIG ]] || die "JEEVES_CONFIG $JEEVES_CONFIG is not readable"
clk_tck=$(getconf CLK_TCK)

if [[ -n ${BENCH_OUT:-} ]]; then
  out=$BENCH_OUT
  mkdir -p "$out"
else
  out=$(mktemp -d /tmp/bench-pipeline.XXXXXX)
fi
results="$out/results.tsv"

# --- child processes: every one we start is listed here and stopped on exit ----------------------
children=()
stop_pid() { # pid [seconds before SIGKILL]
  local pid=$1 grace=${2:-30} i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() { # newest first: the load generator, then the collector, then the sink
  local i
  for ((i = ${#children[@]} - 1; i >= 0; i--)); do
    stop_pid "${children[i]}" 5
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools: the sink, and the comparison collector ----------------------------------------------
log "building the sink (test/benchpipeline/sink)"
(cd "$repo" && "$GO" build -o "$out/bench-sink" ./test/benchpipeline/sink)
sink_bin="$out/bench-sink"

build_contrib() {
  local hash dir src tmp allowed bad
  hash=$(cat "$bp/builder-config.yaml" <("$GO" env GOVERSION) | sha256sum | cut -c1-12)
  dir="$BENCH_CACHE/bench-contrib-$hash"
  if [[ -x $dir/otelcol-bench-contrib ]]; then
    echo "$dir/otelcol-bench-contrib"
    return
  fi
  log "building the comparison collector with OCB into $dir (first time: ~2-4 min)"
  mkdir -p "$BENCH_CACHE"
  tmp=$(mktemp -d "$BENCH_CACHE/bench-contrib-$hash.tmp.XXXXXX")
  src="$tmp/src"
  sed "s#^\([[:space:]]*output_path:\).*#\1 $src#" "$bp/builder-config.yaml" > "$tmp/builder-config.yaml"
  # The repository's go.mod pins OCB (`go tool builder`); the output goes to $src only.
  if ! (cd "$repo" && "$GO" tool builder --config "$tmp/builder-config.yaml") > "$tmp/ocb.log" 2>&1; then
    tail -n 30 "$tmp/ocb.log" >&2
    die "OCB failed (full log: $tmp/ocb.log)"
  fi
  # One collector release: no core module may have moved off the versions this repository uses
  # (tailsamplingprocessor is an older contrib release).
  allowed=$(awk '$1 ~ /^go\.opentelemetry\.io\/collector\// && $2 ~ /^v/ {print $2}' "$repo/go.mod" | sort -u | tr '\n' ' ')
  bad=$(awk -v ok=" $allowed" '$1 ~ /^go\.opentelemetry\.io\/collector(\/|$)/ && $2 ~ /^v/ && index(ok, " " $2 " ") == 0 {print $1, $2}' "$src/go.mod")
  if [[ -n $bad ]]; then
    printf '%s\n' "$bad" >&2
    die "the comparison collector's go.mod moved core modules off $allowed(see $src/go.mod)"
  fi
  mv "$src/otelcol-bench-contrib" "$tmp/otelcol-bench-contrib"
  cp "$src/go.mod" "$tmp/go.mod"
  rm -rf "$src"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  echo "$dir/otelcol-bench-contrib"
}

needs_contrib=false
for c in $BENCH_CONFIGS; do
  case $c in
    bare | receive-only | jeeves-tail | jeeves-head | router | router-none) ;;
    contrib-tail | contrib-head) needs_contrib=true ;;
    *) die "unknown configuration '$c' in BENCH_CONFIGS" ;;
  esac
done
if $needs_contrib; then
  if [[ -z $CONTRIB_BIN ]]; then
    CONTRIB_BIN=$(build_contrib)
  fi
  [[ -x $CONTRIB_BIN ]] || die "CONTRIB_BIN $CONTRIB_BIN is not an executable"
fi

# Rows: name, binary, config file, sampling mode of the jeeves config ("-" for the others).
rows=()
for c in $BENCH_CONFIGS; do
  case $c in
    bare) rows+=("bare|$JEEVES_BIN|$bp/bare.yaml|-") ;;
    receive-only) rows+=("receive-only|$JEEVES_BIN|$bp/receive-only.yaml|-") ;;
    contrib-tail) rows+=("contrib-tail|$CONTRIB_BIN|$bp/contrib-tail.yaml|-") ;;
    contrib-head) rows+=("contrib-head|$CONTRIB_BIN|$bp/contrib-head.yaml|-") ;;
    router) rows+=("router|$JEEVES_BIN|$repo/configs/otelcol-jeeves-router.yaml|router") ;;
    router-none) rows+=("router-none|$JEEVES_BIN|$repo/configs/otelcol-jeeves-router.yaml|router-none") ;;
    jeeves-tail | jeeves-head)
      rows+=("$c|$JEEVES_BIN|$JEEVES_CONFIG|${c#jeeves-}")
      if [[ -n $BASELINE_BIN ]]; then
        rows+=("$c@baseline|$BASELINE_BIN|$JEEVES_CONFIG|${c#jeeves-}")
      fi
      ;;
  esac
done

# --- one run -------------------------------------------------------------------------------------
read_count() { # count file -> span count (0 while absent)
  local n
  n=$(cat "$1" 2>/dev/null || true)
  echo "${n:-0}"
}

proc_ticks() { # pid -> utime + stime in clock ticks
  local stat
  stat=$(cat "/proc/$1/stat")
  stat=${stat##*) } # fields from 3 (state) on; comm may hold spaces
  awk '{print $12 + $13}' <<< "$stat"
}

wait_port() { # port pid seconds: until 127.0.0.1:port accepts, while pid lives
  local port=$1 pid=$2 secs=$3 i
  for ((i = 0; i < secs * 20; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

run_one() { # round row
  local round=$1 name bin cfg mode
  IFS='|' read -r name bin cfg mode <<< "$2"
  local dir="$out/runs/r$round-${name//@/-}"
  mkdir -p "$dir"

  # The sink first: the collector's exporter finds it listening.
  rm -f "$dir/sink.addr" "$dir/sink.count"
  "$sink_bin" -addr-file "$dir/sink.addr" -count-file "$dir/sink.count" > "$dir/sink.log" 2>&1 &
  local sink_pid=$!
  children+=("$sink_pid")
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $dir/sink.addr ]] && break
    kill -0 "$sink_pid" 2>/dev/null || die "the sink exited: $(cat "$dir/sink.log")"
    sleep 0.05
  done
  [[ -s $dir/sink.addr ]] || die "the sink did not start: $(cat "$dir/sink.log")"
  local sink_addr
  sink_addr=$(cat "$dir/sink.addr")

  local ports
  mapfile -t ports < <("$sink_bin" -free-ports 9)
  local otlp=${ports[0]}
  local -a envs
  if [[ $mode == router* ]]; then
    # The router's listeners on free ports; every trace id routes to its one backend, the sink.
    envs=(
      "JEEVES_OTLP_GRPC_ENDPOINT=127.0.0.1:$otlp"
      "JEEVES_OTLP_HTTP_ENDPOINT=127.0.0.1:${ports[1]}"
      "JEEVES_TELEMETRY_HOST=127.0.0.1"
      "JEEVES_TELEMETRY_PORT=${ports[2]}"
      "JEEVES_HEALTH_ENDPOINT=127.0.0.1:${ports[3]}"
      "JEEVES_ROUTER_BACKENDS=[$sink_addr]"
      "JEEVES_ROUTER_COMPRESSION=$([[ $mode == router-none ]] && echo none || echo gzip)"
    )
  elif [[ $mode == - ]]; then
    envs=(
      "BENCH_OTLP_ENDPOINT=127.0.0.1:$otlp"
      "BENCH_SINK_ENDPOINT=$sink_addr"
      "BENCH_PROMETHEUS_ENDPOINT=127.0.0.1:${ports[1]}"
      "BENCH_TELEMETRY_PORT=${ports[2]}"
    )
  else
    # Every listener of the default config on a free port; the CommBus kernel address is a free
    # port nobody listens on (as with no kernel running); Jaeger is the sink.
    envs=(
      "JEEVES_OTLP_GRPC_ENDPOINT=127.0.0.1:$otlp"
      "JEEVES_OTLP_HTTP_ENDPOINT=127.0.0.1:${ports[1]}"
      "JEEVES_PROMETHEUS_ENDPOINT=127.0.0.1:${ports[2]}"
      "JEEVES_TELEMETRY_HOST=127.0.0.1"
      "JEEVES_TELEMETRY_PORT=${ports[3]}"
      "JEEVES_HEALTH_ENDPOINT=127.0.0.1:${ports[4]}"
      "JEEVES_HEALTH_STATUS_ENDPOINT=127.0.0.1:${ports[8]}"
      "JEEVES_PPROF_ENDPOINT=127.0.0.1:${ports[5]}"
      "JEEVES_ZPAGES_ENDPOINT=127.0.0.1:${ports[6]}"
      "JEEVES_COMMBUS_ENDPOINT=127.0.0.1:${ports[7]}"
      "JAEGER_OTLP_ENDPOINT=$sink_addr"
      "JAEGER_OTLP_INSECURE=true"
      "JEEVES_SAMPLING_MODE=$mode"
      # A fresh durable queue per run: a queue left by an earlier run would be replayed into this one.
      "JEEVES_STORAGE_DIR=$dir/queue"
    )
  fi

  local t0 t_loaded t_end
  t0=$(date +%s.%N)
  env "${envs[@]}" "$bin" --config "$cfg" > "$dir/collector.log" 2>&1 &
  local pid=$!
  children+=("$pid")
  wait_port "$otlp" "$pid" 60 || die "$name: the collector did not start listening (log: $dir/collector.log)
$(tail -n 20 "$dir/collector.log")"
  local ready_ticks
  ready_ticks=$(proc_ticks "$pid")

  local lg_rc=0
  "$LOADGEN_BIN" -endpoint "127.0.0.1:$otlp" -traces "$BENCH_TRACES" -rate "$BENCH_RATE" \
    -seed "$BENCH_SEED" -manifest "$dir/manifest.json" > "$dir/loadgen.log" 2>&1 &
  local lg_pid=$!
  children+=("$lg_pid")
  wait "$lg_pid" || lg_rc=$?
  t_loaded=$(date +%s.%N)
  ((lg_rc == 0)) || die "$name: jeeves-loadgen failed (rc $lg_rc): $(tail -n 5 "$dir/loadgen.log")"
  local sent
  sent=$(sed -n 's/.*exported [0-9]* traces, \([0-9]*\) spans.*/\1/p' "$dir/loadgen.log")
  [[ -n $sent ]] || die "$name: cannot read the spans sent from $dir/loadgen.log"

  # Drained: past the decision wait (tail modes), then the sink's count unchanged for stable_secs.
  local min_wait=0
  case $name in
    contrib-tail | jeeves-tail*) min_wait=$tail_wait ;;
  esac
  local last=-1 still=0 n waited=0
  while :; do
    n=$(read_count "$dir/sink.count")
    if [[ $n == "$last" ]]; then
      still=$((still + 1))
    else
      still=0
      last=$n
    fi
    if ((waited >= min_wait * 4 && still >= stable_secs * 4)); then
      break
    fi
    if ((waited >= max_drain * 4)); then
      log "warning: $name: the sink's count still moved $max_drain s after the load ended"
      break
    fi
    kill -0 "$pid" 2>/dev/null || die "$name: the collector exited (log: $dir/collector.log)"
    sleep 0.25
    waited=$((waited + 1))
  done
  t_end=$(date +%s.%N)

  # Read CPU and peak RSS while the process still exists; then stop it.
  local ticks hwm
  ticks=$(proc_ticks "$pid")
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
  local forwarded
  forwarded=$(read_count "$dir/sink.count")
  stop_pid "$pid" 30
  stop_pid "$sink_pid" 10
  local final
  final=$(read_count "$dir/sink.count")
  if [[ $final != "$forwarded" ]]; then
    log "warning: $name: $((final - forwarded)) more spans reached the sink at shutdown"
  fi
  children=() # all stopped (loadgen was waited for)
  local cpu_us=$((ticks * 1000000 / clk_tck)) ready_us=$((ready_ticks * 1000000 / clk_tck))
  awk -v OFS='\t' -v r="$round" -v c="$name" -v b="$bin" -v s="$sent" -v cpu="$cpu_us" -v h="$hwm" -v rd="$ready_us" \
    -v f="$forwarded" -v fin="$final" -v t0="$t0" -v tl="$t_loaded" -v te="$t_end" \
    'BEGIN {print r, c, s, cpu, sprintf("%.3f", cpu / s), h, f, fin, sprintf("%.1f", te - t0),
            sprintf("%.1f", te - tl), rd, b}' >> "$results"
  log "round $round $name: $(awk -v cpu="$cpu_us" -v s="$sent" 'BEGIN {printf "%.2f", cpu / s}') µs/span, $sent spans sent, $forwarded forwarded, VmHWM $((hwm / 1024)) MiB"
}

# --- the rounds ----------------------------------------------------------------------------------
printf 'round\tconfig\tspans_sent\tcpu_us\tus_per_span\tvmhwm_kib\tforwarded\tforwarded_after_stop\twall_s\tdrain_s\tstartup_cpu_us\tbinary\n' > "$results"
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "host: $(uname -srm), $(nproc) cores, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
  echo "go: $("$GO" env GOVERSION)"
  echo "jeeves: $JEEVES_BIN ($(sha256sum < "$JEEVES_BIN" | cut -c1-12))"
  [[ -z $BASELINE_BIN ]] || echo "baseline: $BASELINE_BIN ($(sha256sum < "$BASELINE_BIN" | cut -c1-12))"
  [[ -z $CONTRIB_BIN ]] || echo "contrib: $CONTRIB_BIN"
  echo "loadgen: $LOADGEN_BIN -traces $BENCH_TRACES -rate $BENCH_RATE -seed $BENCH_SEED"
  echo "jeeves config: $JEEVES_CONFIG"
  echo "rounds: $BENCH_ROUNDS; configurations: ${rows[*]%%|*}"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$out/run-info.txt"

start=$SECONDS
log "results in $out; ${#rows[@]} configurations x $BENCH_ROUNDS rounds of $BENCH_TRACES traces at $BENCH_RATE traces/s"
for ((round = 1; round <= BENCH_ROUNDS; round++)); do
  for row in "${rows[@]}"; do
    run_one "$round" "$row"
  done
done
elapsed=$((SECONDS - start))
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates and spreads the figures)" >> "$out/run-info.txt"

# --- the table -----------------------------------------------------------------------------------
median() { # numbers on stdin -> median
  sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
col() { # config column -> that column of the config's runs
  awk -F'\t' -v c="$1" -v k="$2" 'NR > 1 && $2 == c {print $k}' "$results"
}
declare -A med
for row in "${rows[@]}"; do
  name=${row%%|*}
  med[$name]=$(col "$name" 5 | median)
done
ratio() { # a b -> a/b with two decimals, or "–"
  if [[ -n ${2:-} && $2 != nan ]]; then awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f×", a / b}'; else echo "–"; fi
}

{
  echo "| config | µs/span (median) | min–max | vs bare | vs contrib, same mode | peak RSS (median) | spans sent | spans forwarded (median) |"
  echo "|---|---|---|---|---|---|---|---|"
  for row in "${rows[@]}"; do
    name=${row%%|*}
    m=${med[$name]}
    mn=$(col "$name" 5 | sort -g | head -n 1)
    mx=$(col "$name" 5 | sort -g | tail -n 1)
    case $name in
      jeeves-tail*) contrib=${med[contrib-tail]:-} ;;
      jeeves-head*) contrib=${med[contrib-head]:-} ;;
      *) contrib= ;;
    esac
    if [[ $name == bare ]]; then vb="1.00×"; else vb=$(ratio "$m" "${med[bare]:-}"); fi
    rss=$(col "$name" 6 | median)
    sent=$(col "$name" 3 | median)
    fwd=$(col "$name" 7 | median)
    # shellcheck disable=SC2016 # backquotes are Markdown here
    printf '| `%s` | %.2f | %.2f–%.2f | %s | %s | %.0f MiB | %.0f | %.0f |\n' \
      "$name" "$m" "$mn" "$mx" "$vb" "$(ratio "$m" "$contrib")" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "$sent" "$fwd"
  done
} > "$out/table.md"

echo
cat "$out/run-info.txt"
echo
cat "$out/table.md"
echo
echo "ran ${#rows[@]} configurations x $BENCH_ROUNDS rounds in $((elapsed / 60))m$((elapsed % 60))s"
echo "raw results: $results (logs under $out/runs)"
