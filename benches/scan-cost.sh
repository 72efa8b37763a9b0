#!/usr/bin/env bash
# What a full `osdoctor check` costs on a host with many processes, next to the simplest program that
# reads the same per-process files (benches/raw_read.rs) and to `lsof -n -P`.
#
# Usage: benches/scan-cost.sh [NxTxF ...]     (run from the repository top, as root)
#   default loads: 500x4x20 2000x8x50 5000x2x100, then 2000x8x5 and 2000x8x200 (fd-count sweep,
#   without lsof). Each load is N idle processes with T threads and F open fds each
#   (`loadgen idle N --threads T --fds F`).
#
# For each load it reports the median of 3 runs of: osdoctor's CPU time (user+sys of the child, from
# wait4 via GNU time) and peak RSS (ru_maxrss) for `osdoctor check --format json` (both samples, all
# rules; the 1 s interval is sleep, not CPU), the raw-read baseline's CPU time, one `lsof -n -P` run,
# and the ratios. Ratios taken in one run are what to compare: absolute times move with the machine's
# other load. Benchmarks are not tests: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."

loads=("$@")
if [ ${#loads[@]} -eq 0 ]; then
  loads=(500x4x20 2000x8x50 5000x2x100 2000x8x5 2000x8x200)
fi
runs=${RUNS:-3}
lsof_timeout=${LSOF_TIMEOUT:-240}

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v lsof >/dev/null || { apt-get update -qq && apt-get install -y -qq lsof || true; }

cargo build --quiet --release --bin osdoctor --example loadgen --example raw_read
osd=target/release/osdoctor
loadgen=target/release/examples/loadgen
raw=target/release/examples/raw_read

lg_pid=
cleanup() { [ -n "$lg_pid" ] && kill "$lg_pid" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

# CPU seconds (user+sys) and peak RSS (KiB) of one command: "CPU RSS".
measure() {
  local out
  out=$(mktemp)
  /usr/bin/time -f "%U %S %M" -o "$out" "$@" >/dev/null 2>&1 || true
  tail -n 1 "$out" | awk '{printf "%.3f %d\n", $1 + $2, $3}'
  rm -f "$out"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

pid_max=$(cat /proc/sys/kernel/pid_max)
threads_max=$(cat /proc/sys/kernel/threads-max)
nproc_limit=$(ulimit -u)
tasks_now=$(awk '{split($4, a, "/"); print a[2]}' /proc/loadavg)

echo "# osdoctor scan cost, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo
echo "| load (N x T x F) | processes | osdoctor check CPU | per process | peak RSS | raw-read pass CPU | osdoctor / raw | lsof -n -P CPU | lsof / osdoctor |"
echo "|---|---|---|---|---|---|---|---|---|"
for load in "${loads[@]}"; do
  IFS=x read -r n t f <<<"$load"
  need=$((n * t + tasks_now + 1000))
  limit=$pid_max
  [ "$threads_max" -lt "$limit" ] && limit=$threads_max
  if [ "$nproc_limit" != unlimited ] && [ "$nproc_limit" -lt "$limit" ]; then limit=$nproc_limit; fi
  if [ "$need" -gt "$limit" ]; then
    echo "| $load | (skipped: needs about $need tasks; pid_max/threads-max/ulimit -u allow $limit) |||||||"
    continue
  fi
  ready=$(mktemp)
  "$loadgen" idle "$n" --threads "$t" --fds "$f" --secs 3600 >"$ready" &
  lg_pid=$!
  for _ in $(seq 1 600); do grep -q ready "$ready" && break; sleep 0.2; done
  grep -q ready "$ready" || { echo "loadgen $load did not start" >&2; exit 1; }
  rm -f "$ready"
  procs=$(ls /proc 2>/dev/null | grep -c "^[0-9]")
  # The first scan after thousands of fds were opened builds the kernel's fd entries: not measured.
  "$raw" 2>/dev/null
  osd_cpu=(); osd_rss=(); raw_cpu=()
  for _ in $(seq 1 "$runs"); do
    read -r c _ <<<"$(measure "$raw")"; raw_cpu+=("$c")
    read -r c r <<<"$(measure "$osd" check --format json)"; osd_cpu+=("$c"); osd_rss+=("$r")
  done
  o=$(printf '%s\n' "${osd_cpu[@]}" | median)
  rss=$(printf '%s\n' "${osd_rss[@]}" | median)
  b=$(printf '%s\n' "${raw_cpu[@]}" | median)
  lsof_cell="(not run)"; lsof_ratio="-"
  if command -v lsof >/dev/null && [ "$f" -eq 20 -o "$f" -eq 50 -o "$f" -eq 100 ]; then
    read -r l _ <<<"$(measure timeout "$lsof_timeout" lsof -n -P)"
    lsof_cell="$l s"
    lsof_ratio=$(awk -v l="$l" -v o="$o" 'BEGIN {printf "%.0fx", l / o}')
  fi
  awk -v load="$load" -v procs="$procs" -v o="$o" -v b="$b" -v rss="$rss" -v lc="$lsof_cell" -v lr="$lsof_ratio" 'BEGIN {
    printf "| %s | %d | %.3f s | %.0f us | %.1f MB | %.3f s | %.2f | %s | %s |\n",
      load, procs, o, o / procs * 1e6, rss / 1024, b, (b > 0 ? o / b : 0), lc, lr }'
  kill "$lg_pid" 2>/dev/null || true
  wait "$lg_pid" 2>/dev/null || true
  lg_pid=
  # Let the children die before the next load.
  for _ in $(seq 1 100); do [ "$(ls /proc 2>/dev/null | grep -c "^[0-9]")" -lt $((procs - n / 2)) ] && break; sleep 0.2; done
  sleep 1
done
