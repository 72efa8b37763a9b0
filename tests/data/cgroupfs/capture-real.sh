#!/bin/sh
# Capture real cgroup v1 and hybrid-cgroup2 files from this machine into real/.
# Run as root on a hybrid host (v1 controllers under /sys/fs/cgroup/<ctrl>, cgroup2 at
# /sys/fs/cgroup/unified). It creates cgroups named osdoctor-fixture-*, induces an OOM kill, CPU
# throttling and a fork rejection in them, copies their interface files and removes them again.
set -eu
OUT="$(cd "$(dirname "$0")" && pwd)/real"
CG=/sys/fs/cgroup
N=osdoctor-fixture
rm -rf "$OUT"; mkdir -p "$OUT"

copy() { # copy DIR DEST FILE...
    src=$1; dest=$2; shift 2; mkdir -p "$dest"
    for f in "$@"; do [ -r "$src/$f" ] && cat "$src/$f" > "$dest/$f" || true; done
}
cleanup() {
    rm -f "/tmp/$N-data"
    for d in "$CG/memory/$N-oom" "$CG/memory/$N-cache" "$CG/cpu/$N-cpu" "$CG/cpuacct/$N-cpu" \
             "$CG/pids/$N-pids" "$CG/unified/$N"; do
        [ -d "$d" ] || continue
        for p in $(cat "$d/cgroup.procs" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
        sleep 0.2; rmdir "$d" 2>/dev/null || true
    done
}
trap cleanup EXIT
MEMFILES="memory.usage_in_bytes memory.limit_in_bytes memory.max_usage_in_bytes memory.soft_limit_in_bytes
 memory.failcnt memory.oom_control memory.stat memory.memsw.usage_in_bytes memory.memsw.limit_in_bytes
 memory.memsw.failcnt cgroup.procs"

# 1. v1 memory: 64 MiB limit, a process wanting 256 MiB is OOM-killed.
mkdir "$CG/memory/$N-oom"
echo $((64 * 1024 * 1024)) > "$CG/memory/$N-oom/memory.limit_in_bytes"
sh -c "echo \$\$ > $CG/memory/$N-oom/cgroup.procs; exec python3 -c 'b = bytearray(256 << 20); print(len(b))'" \
    2>/dev/null && echo "expected an OOM kill" >&2 || true
copy "$CG/memory/$N-oom" "$OUT/v1/memory/$N-oom" $MEMFILES

# 2. v1 memory with a live process and page cache (inactive_file > 0), and /proc/PID/cgroup of a
#    process that sits in non-root cgroups of the memory, cpu, cpuacct, pids and cgroup2 hierarchies.
mkdir "$CG/memory/$N-cache" "$CG/cpu/$N-cpu" "$CG/cpuacct/$N-cpu" "$CG/pids/$N-pids" "$CG/unified/$N"
echo $((256 * 1024 * 1024)) > "$CG/memory/$N-cache/memory.limit_in_bytes"
sh -c "for c in memory/$N-cache cpu/$N-cpu cpuacct/$N-cpu pids/$N-pids unified/$N; do echo \$\$ > $CG/\$c/cgroup.procs; done
       head -c 33554432 /dev/urandom > /tmp/$N-data; cat /tmp/$N-data > /dev/null; exec sleep 30" &
SLEEPER=$!
sleep 1
mkdir -p "$OUT/proc/sleeper"; cat /proc/$SLEEPER/cgroup > "$OUT/proc/sleeper/cgroup"
copy "$CG/memory/$N-cache" "$OUT/v1/memory/$N-cache" $MEMFILES
copy "$CG/unified/$N" "$OUT/unified/$N" cgroup.events cgroup.stat cgroup.procs cgroup.controllers \
    cpu.stat cpu.stat.local cpu.pressure memory.pressure io.pressure
copy "$CG/unified" "$OUT/unified/root" cgroup.stat cpu.stat cpu.stat.local cpu.pressure memory.pressure io.pressure

# 3. v1 cpu with a 20% quota and a busy loop for 3 s: throttled.
echo 20000 > "$CG/cpu/$N-cpu/cpu.cfs_quota_us"
sh -c "echo \$\$ > $CG/cpu/$N-cpu/cgroup.procs; echo \$\$ > $CG/cpuacct/$N-cpu/cgroup.procs; exec timeout 3 sh -c 'while :; do :; done'" || true
copy "$CG/cpu/$N-cpu" "$OUT/v1/cpu/$N-cpu" cpu.stat cpu.stat.local cpu.cfs_quota_us cpu.cfs_period_us cpu.shares cgroup.procs
copy "$CG/cpuacct/$N-cpu" "$OUT/v1/cpuacct/$N-cpu" cpuacct.usage cpuacct.usage_user cpuacct.usage_sys \
    cpuacct.usage_percpu cpuacct.usage_all cpuacct.stat
copy "$CG/cpu" "$OUT/v1/cpu/root" cpu.stat cpu.cfs_quota_us cpu.cfs_period_us

# 4. v1 pids with pids.max 5 and a process that tries to fork 10 children: forks rejected. The process
#    reads pids.current itself while the children live (at the limit not even `cat` could start).
echo 5 > "$CG/pids/$N-pids/pids.max"
python3 - "$CG/pids/$N-pids" "$OUT" <<'PY'
import os, sys, time
cg, out = sys.argv[1], sys.argv[2]
with open(cg + "/cgroup.procs", "w") as f:
    f.write(str(os.getpid()))
kids, rejected = [], 0
for _ in range(10):
    try:
        pid = os.fork()
    except BlockingIOError:
        rejected += 1
        continue
    if pid == 0:
        time.sleep(2)
        os._exit(0)
    kids.append(pid)
with open(cg + "/pids.current") as f, open(out + "/pids.current.tmp", "w") as g:
    g.write(f.read())
for k in kids:
    os.waitpid(k, 0)
print("forks rejected:", rejected)
PY
copy "$CG/pids/$N-pids" "$OUT/v1/pids/$N-pids" pids.max pids.events pids.peak
mv "$OUT/pids.current.tmp" "$OUT/v1/pids/$N-pids/pids.current"

# 5. The mount table's cgroup lines (other lines dropped: they describe this sandbox, not cgroups).
grep -E ' /sys/fs/cgroup| - (proc|sysfs) ' /proc/self/mountinfo > "$OUT/mountinfo"
uname -r > "$OUT/kernel-release"
kill "$SLEEPER" 2>/dev/null || true
