//! The fuzz targets: each feeds arbitrary bytes to every parser of one family, results ignored; only a
//! panic, a hang or unbounded memory is a finding. Shared by the coverage-guided binaries of this
//! crate (cargo-afl, `src/bin/*.rs`) and by osdoctor's own test suite (`tests/integration/fuzz.rs`
//! includes this file), which replays the saved corpus and runs property tests over the same entry
//! points.

use osdoctor::parse;

/// A target's entry point.
pub type Target = fn(&[u8]);

/// `(name, entry point)`: the name is the corpus directory (`tests/fuzz/corpus/NAME/`) and the binary's
/// argument.
pub const TARGETS: &[(&str, Target)] = &[
    ("host", host),
    ("process", process),
    ("net", net),
    ("cgroup", cgroup),
    ("kernel_log", kernel_log),
    ("numa", numa),
    ("records", records),
    ("sos", sos),
    ("rules", rules),
    ("state", state),
];

fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// Host-wide /proc files: procfs-core's meminfo, vmstat, loadavg and stat, and osdoctor's own parsers
/// of pressure, diskstats and mountinfo.
pub fn host(data: &[u8]) {
    use procfs_core::{FromBufReadSI, FromRead};
    let _ = parse::procfs_guard::meminfo(data);
    let _ = procfs_core::VmStat::from_read(data);
    let _ = procfs_core::LoadAverage::from_read(data);
    let si = procfs_core::ExplicitSystemInfo {
        boot_time_secs: 0,
        ticks_per_second: 100,
        page_size: 4096,
        is_little_endian: true,
    };
    let _ = procfs_core::KernelStats::from_buf_read(data, &si);
    let t = text(data);
    let _ = parse::pressure::parse(&t);
    let (disks, _) = parse::diskstats::parse(&t);
    for d in &disks {
        let _ = parse::diskstats::looks_like_partition(&d.name, &disks);
        let _ = d.read_seconds();
    }
    let _ = parse::filesystems::rows(&t);
    let _ = osdoctor::collect::process::parse_mountinfo(&t);
}

/// Per-process files: stat, status, limits, cgroup, and fd link targets (one per line).
pub fn process(data: &[u8]) {
    use procfs_core::FromRead;
    let _ = parse::proc_pid::parse_stat(data);
    let _ = procfs_core::ProcessCGroups::from_read(data);
    let _ = parse::proc_pid::parse_status(data);
    let _ = parse::proc_pid::parse_ctxt(data);
    let _ = parse::proc_pid::parse_limits(data);
    let t = text(data);
    let (tcp, _) = parse::proc_net_tcp::parse_sockets(&t);
    let table = parse::fd_table::classify(t.lines(), Some(&tcp));
    let _ = parse::fd_table::classify(t.lines(), None).breakdown();
    let _ = table.breakdown();
    for line in t.lines() {
        let _ = parse::fd_table::recorded_target(line);
        let _ = parse::proc_net_tcp::socket_inode(line);
    }
    let _ = osdoctor::redact::redact(&t);
}

/// /proc/net files and sysctls of the network stack.
pub fn net(data: &[u8]) {
    let t = text(data);
    let _ = parse::net_dev::parse(&t);
    let _ = parse::net_dev::parse_flags(&t);
    let _ = parse::net_dev::parse_operstate(&t);
    let _ = parse::net_dev::parse_carrier(&t);
    let _ = parse::net_dev::default_route_interfaces(&t);
    let _ = parse::net_dev::default_route_interfaces_v6(&t);
    let (snmp, _) = parse::net_snmp::parse(&t);
    let _ = parse::net_snmp::counter(&snmp, "Tcp", "RetransSegs");
    let _ = parse::net_sockstat::parse_sockstat(&t);
    let _ = parse::net_sockstat::parse_tcp_mem(&t);
    let _ = parse::net_sockstat::parse_softnet_stat(&t);
    let _ = parse::proc_net_tcp::parse_listeners(&t);
    let _ = parse::proc_net_tcp::parse_sockets(&t);
    if let Ok(range) = parse::tcp_ports::parse_port_range(&t) {
        // The tally of a table against the range it claims (bounded by the range's size).
        let tally = parse::tcp_ports::PortTally::tally(range, &[&t]);
        let _ = tally.busiest(Some(2));
        let _ = tally.top_destinations(3);
    }
    let _ = parse::sock_diag::decode(data);
}

/// cgroupfs files, /proc/PID/cgroup, mountinfo's cgroup mounts and cgroup paths.
pub fn cgroup(data: &[u8]) {
    use parse::cgroup::*;
    let t = text(data);
    let t = t.as_ref();
    let _ = flat_keyed::parse(t);
    let _ = single_value::parse_value(t);
    let _ = single_value::parse_limit(t);
    let _ = cpu_max::parse(t);
    let _ = cpu_max::parse_cfs_quota_us(t);
    let _ = io_stat::parse(t);
    let _ = blkio::parse(Some(t), Some(t));
    let _ = cpuacct::parse_usage_ns(t);
    let _ = cpuacct::parse_usage_percpu_ns(t);
    let _ = cpuacct::parse_stat(t);
    let _ = cgroup_procs::parse(t);
    let _ = memory_stat::parse_v2(t);
    let _ = memory_stat::parse_v1(t);
    let _ = memory_events::parse(t);
    let _ = memory_events::parse_swap(t);
    let _ = memory_oom_control::parse(t);
    let _ = cpu_stat::parse_v2(t);
    let _ = cpu_stat::parse_v1(t);
    let _ = cgroup_events::parse(t);
    let _ = cgroup_stat::parse(t);
    let _ = pids_events::parse(t);
    let _ = proc_pid_cgroup::parse(t);
    let _ = process_cgroups(t);
    let layout = layout::detect_from_text(t);
    let _ = layout::detect_from_proc_mounts(t);
    let _ = layout.dirs_for_path(t);
    let _ = layout::unescape_octal(t);
    for line in t.lines() {
        let _ = identify(line);
        let _ = layout::normalize_cgroup_path(line);
        let _ = parse::kubelet_logs::pod_dir(line);
        let _ = parse::kubelet_logs::restart_of_log(line);
        let _ = parse::kubelet_logs::container_link(line);
        let _ = parse::kubelet_logs::link_target(line);
    }
}

/// Kernel logs: /dev/kmsg records and saved text logs of every dialect, then the diagnoses over them.
pub fn kernel_log(data: &[u8]) {
    use parse::kernel_log::*;
    let kmsg = parse_kmsg(data);
    let text_log = parse_text_bytes(data, None);
    for log in [&kmsg, &text_log] {
        let events = diagnose(&log.records);
        let _ = sequence_gaps(&log.records);
        let _ = events;
    }
}

/// /sys/devices/system/node files and /proc/PID/numa_maps.
pub fn numa(data: &[u8]) {
    let t = text(data);
    if let Ok((m, _)) = parse::numa::parse_meminfo(&t) {
        let _ = m.available_bytes();
    }
    let _ = parse::numa::parse_numastat(&t);
    let _ = parse::numa::parse_list(&t);
    let _ = parse::numa::parse_distance(&t);
    let (maps, _) = parse::numa::parse_numa_maps(&t);
    let _ = maps.total_bytes();
    for line in t.lines() {
        let _ = parse::numa::node_id(line);
    }
}

/// osdoctor's own snapshot files: statvfs records, sock_diag records, the process scan's mounts.
pub fn records(data: &[u8]) {
    let t = text(data);
    let _ = parse::filesystems::parse_record(&t);
    let _ = parse::sock_diag::parse_record(&t);
    let _ = osdoctor::collect::process::parse_statvfs_file(&t);
}

/// A rule file (`--rules DIR`).
pub fn rules(data: &[u8]) {
    let _ = osdoctor::rules::load::parse_rules("fuzz.toml", &text(data));
}

/// A `--state` file.
pub fn state(data: &[u8]) {
    let _ = osdoctor::state::State::from_bytes(data);
}

/// A sosreport's command outputs: ps tables, sysctl -a, df, date, lsof.
pub fn sos(data: &[u8]) {
    let t = text(data);
    if let Some(rows) = parse::sos::parse_ps(&t) {
        for row in rows.iter().take(64) {
            let _ = parse::sos::comm_of(&format!("{row:?}"));
        }
    }
    let _ = parse::sos::parse_sysctl(&t);
    let _ = parse::sos::parse_df(&t, Some(&t));
    let _ = parse::sos::parse_date(&t);
    let _ = parse::sos::parse_lsof_fd_counts(&t);
}
