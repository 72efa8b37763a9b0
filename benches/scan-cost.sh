#!/usr/bin/env bash
# What a full `osdoctor check` costs on a host with many processes, next to the simplest program that
# reads the same per-process files (benches/raw_read.rs), to `ps aux` and to `lsof -n -P`.
#
# Usage: benches/scan-cost.sh [NxTxF ...]     (run from the repository top, as root)
#   default loads: 500x4x20 2000x8x50 5000x2x100, then 2000x8x5 and 2000x8x200 (fd-count sweep,
#   without lsof). Each load is N idle processes with T threads and F open fds each
#   (`loadgen idle N --threads T --fds F`).
#
# For each load it takes RUNS (default 7) rounds; each round runs, one after the other (interleaved, so
# the machine's other load falls on all of them alike), the raw-read baseline, `osdoctor check --format
# json` (both samples, all rules; the 1 s interval is sleep, not CPU) and `ps aux`, and it reports the
# best (least) CPU of each and their ratios. CPU is user+sys of the child from getrusage(RUSAGE_CHILDREN)
# around it (benches/cpu_of.py: microseconds, where GNU time prints 10 ms steps). Peak RSS (ru_maxrss)
# of osdoctor comes from separate GNU time runs (the largest of RSS_RUNS, default 2): a Python parent's
# own pages would count in its child's ru_maxrss until exec. lsof -n -P runs once where installed
# (LSOF=0 skips it). Ratios taken in one run are what to compare: absolute times move with the
# machine's other load. Benchmarks are not tests: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."

loads=("$@")
if [ ${#loads[@]} -eq 0 ]; then
  loads=(500x4x20 2000x8x50 5000x2x100 2000x8x5 2000x8x200)
fi
runs=${RUNS:-7}
rss_runs=${RSS_RUNS:-2}
use_lsof=${LSOF:-1}
lsof_timeout=${LSOF_TIMEOUT:-240}

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
if [ "$use_lsof" = 1 ]; then
  command -v lsof >/dev/null || { apt-get update -qq && apt-get install -y -qq lsof || true; }
fi
command -v python3 >/dev/null || { echo "python3 is needed (benches/cpu_of.py)" >&2; exit 1; }

cargo build --quiet --release --bin osdoctor --example loadgen --example raw_read
osd=${OSD:-target/release/osdoctor}
loadgen=target/release/examples/loadgen
raw=target/release/examples/raw_read

lg_pid=
cleanup() { [ -n "$lg_pid" ] && kill "$lg_pid" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT

# CPU seconds (user+sys) of one command, from getrusage of the child.
cpu() { python3 benches/cpu_of.py "$@" | awk '{print $1}'; }
# Peak RSS (KiB) of one command, from GNU time.
rss() {
  local out
  out=$(mktemp)
  /usr/bin/time -f "%M" -o "$out" "$@" >/dev/null 2>&1 || true
  tail -n 1 "$out"
  rm -f "$out"
}
least() { sort -g | head -n 1; }
most() { sort -g | tail -n 1; }

pid_max=$(cat /proc/sys/kernel/pid_max)
threads_max=$(cat /proc/sys/kernel/threads-max)
nproc_limit=$(ulimit -u)
tasks_now=$(awk '{split($4, a, "/"); print a[2]}' /proc/loadavg)

echo "# osdoctor scan cost, $(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
echo
echo "| load (N x T x F) | processes | osdoctor check CPU | per process | peak RSS | raw-read pass CPU | ps aux CPU | osdoctor / raw | osdoctor / ps aux | lsof -n -P CPU | lsof / osdoctor |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
for load in "${loads[@]}"; do
  IFS=x read -r n t f <<<"$load"
  need=$((n * t + tasks_now + 1000))
  limit=$pid_max
  [ "$threads_max" -lt "$limit" ] && limit=$threads_max
  if [ "$nproc_limit" != unlimited ] && [ "$nproc_limit" -lt "$limit" ]; then limit=$nproc_limit; fi
  if [ "$need" -gt "$limit" ]; then
    echo "| $load | (skipped: needs about $need tasks; pid_max/threads-max/ulimit -u allow $limit) |||||||||"
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
  osd_cpu=(); osd_rss=(); raw_cpu=(); ps_cpu=()
  for _ in $(seq 1 "$runs"); do
    raw_cpu+=("$(cpu "$raw")")
    osd_cpu+=("$(cpu "$osd" check --format json)")
    ps_cpu+=("$(cpu ps aux)")
  done
  for _ in $(seq 1 "$rss_runs"); do osd_rss+=("$(rss "$osd" check --format json)"); done
  [ -n "${VERBOSE:-}" ] && echo "  raw: ${raw_cpu[*]} / osdoctor: ${osd_cpu[*]} / ps aux: ${ps_cpu[*]} / rss: ${osd_rss[*]}" >&2
  o=$(printf '%s\n' "${osd_cpu[@]}" | least)
  b=$(printf '%s\n' "${raw_cpu[@]}" | least)
  ps=$(printf '%s\n' "${ps_cpu[@]}" | least)
  rss=$(printf '%s\n' "${osd_rss[@]}" | most)
  lsof_cell="(not run)"; lsof_ratio="-"
  if [ "$use_lsof" = 1 ] && command -v lsof >/dev/null && [ "$f" -eq 20 -o "$f" -eq 50 -o "$f" -eq 100 ]; then
    l=$(cpu timeout "$lsof_timeout" lsof -n -P)
    lsof_cell="$(printf '%.3f' "$l") s"
    lsof_ratio=$(awk -v l="$l" -v o="$o" 'BEGIN {printf "%.0fx", l / o}')
  fi
  awk -v load="$load" -v procs="$procs" -v o="$o" -v b="$b" -v ps="$ps" -v rss="$rss" -v lc="$lsof_cell" -v lr="$lsof_ratio" 'BEGIN {
    printf "| %s | %d | %.3f s | %.0f us | %.1f MB | %.3f s | %.3f s | %.2f | %.2f | %s | %s |\n",
      load, procs, o, o / procs * 1e6, rss / 1024, b, ps, (b > 0 ? o / b : 0), (ps > 0 ? o / ps : 0), lc, lr }'
  kill "$lg_pid" 2>/dev/null || true
  wait "$lg_pid" 2>/dev/null || true
  lg_pid=
  # Let the children die before the next load.
  for _ in $(seq 1 100); do [ "$(ls /proc 2>/dev/null | grep -c "^[0-9]")" -lt $((procs - n / 2)) ] && break; sleep 0.2; done
  sleep 1
done
