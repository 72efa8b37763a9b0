//! osdoctor's integration tests: one binary, small helpers (util.rs), one module per area.
//!
//! - cli: the command surface, exit codes, bad input, formats (`promtool check metrics` on every
//!   command's Prometheus text when promtool is installed; skipped, saying so, when not).
//! - cgroup: `osdoctor cgroup TARGET` on the v2 pod fixtures and the v1 captures, and live on this
//!   kernel's v1 hierarchies as root (OOM kill, CPU throttling, pids limit).
//! - diagnoses: the causal stories on snapshots of real scenarios, and the findings/diagnoses contract.
//! - fixtures: replay of the snapshots in fixtures/ with their exact expected findings.
//! - fleet: `-o FILE` written atomically, `--every` stopped by SIGTERM, shell completions, `--ignore`,
//!   the Kubernetes DaemonSet validated offline, `--root` over a recursive bind mount of / (as root).
//! - fuzz: no parser family panics on arbitrary or file-like bytes (property tests), the corpus the
//!   coverage-guided campaigns saved replays (tests/fuzz/), and hostile `--root` trees (empty,
//!   truncated, binary, enormous files, FIFOs, symlink loops and escapes) give a report, never a hang.
//! - golden: every fixture's findings with their whole subjects, and every saved kernel log's events,
//!   as recorded in tests/data/golden/ (kept across refactors; `OSDOCTOR_BLESS=1` rewrites them).
//! - history: `--state` across runs: a live fd leak named by fd.leak_trend after four runs, runs at
//!   once on one state file and one killed mid-run, corrupt, newer and version 1 files.
//! - inside: osdoctor run inside a container, from snapshots taken there (podman on cgroup v1,
//!   captured; docker on cgroup v2, hand-made): CPU and memory judged against the container's limits,
//!   the quota and the memory limit as the causes, and what cannot be seen from inside named with
//!   what to run on the node.
//! - lifecycle: `first_seen`, `new` and `cleared` across `--state` runs on copies of fixtures: a
//!   segfault alerts once, a new one again; a cleared finding is listed once; an OOM-kill total alerts
//!   when it grows.
//! - live: conditions induced on this machine's kernel (CPU saturation, context-switch storm), checked
//!   with the live `osdoctor check`. They hold a lock so they never overlap each other.
//! - network: interfaces and TCP on fixtures captured in network namespaces (links up without
//!   carrier, a clean TCP transfer over veth, one with drops, a listener that never accepts, receive
//!   errors added by a script), and loopback alone.
//! - numa: NUMA nodes and process placement on the hand-made multi-node fixtures (a full node with
//!   fallback misses and a process whose memory is remote; a memory-only CXL node, quiet), "absent"
//!   on single-node hosts, and unusual node layouts and garbled files without a panic.
//! - podman: real containers (podman, runc, a busybox-static root, no registry) as root: an OOM kill
//!   under --memory 64m (one container survives it, one dies of it), throttling under --cpus 0.2, a
//!   pids limit and an fd limit, each through `check`, `cgroup <id>`, `<12-char prefix>`, `<pid>` and
//!   a snapshot replay; skipped, saying why, where podman cannot run.
//! - podman_inside: osdoctor itself run inside a podman container (`--cgroupns private`, --cpus 0.5,
//!   --memory 96m, four spinning threads and 60 MiB held in its /dev/shm): `host.container` and its
//!   limits, its own cgroup "/" throttled, its CPU use and its four runnable threads judged against
//!   the quota.
//! - process: per-process findings on induced conditions (fds near the limit, zombies, a thread storm,
//!   a listener under the default fd limit), a FIFO in a root tree, an unprivileged run.
//! - storage: disks and filesystems on their captured fixtures (a full tmpfs, one out of inodes, a
//!   busy loop device, an ext4 remounted read-only), their stories, and "absent" in the USE grid.

mod cgroup;
mod cli;
mod diagnoses;
mod fixtures;
mod fleet;
mod fuzz;
mod golden;
mod history;
mod inside;
mod kernel;
mod lifecycle;
mod live;
mod man;
mod network;
mod numa;
mod podman;
mod podman_inside;
mod process;
mod sosreport;
mod storage;
mod util;
