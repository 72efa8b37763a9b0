#!/usr/bin/env python3
"""CPU seconds (user+sys) and peak RSS (KiB) of one command, from getrusage(RUSAGE_CHILDREN) around it.

Usage: benches/cpu_of.py COMMAND [ARGS...]   prints "CPU_SECONDS RSS_KIB"

The kernel keeps utime+stime of a task to the nanosecond (their sum is its sum_exec_runtime; only the
user/system split is sampled at ticks), and getrusage reports them in microseconds: unlike GNU time's
%U/%S (10 ms steps) this resolves a 0.1 s command to well under 1%. This wrapper's own start-up is not
counted: RUSAGE_CHILDREN covers the waited-for child only.
"""
import resource
import subprocess
import sys

before = resource.getrusage(resource.RUSAGE_CHILDREN)
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
print(f"{cpu:.4f} {after.ru_maxrss}")
