//! Network interfaces and the TCP stack: the fixtures captured in network namespaces (veth ends up
//! with their peers down, a TCP transfer across a veth pair, the same with 10% of the segments
//! dropped by nftables, a listener that never accepts) and the scripted edit with receive errors;
//! each rule's firing and quiet fixtures; a host with only loopback.

use serde_json::Value;

use crate::util::*;

/// The findings of `rule`, as (device, severity); every one on an interface.
fn of_rule(report: &Value, rule: &str) -> Vec<(String, String)> {
    for f in report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
    {
        assert_eq!(f["subject"]["kind"], "nic", "{f:#}");
    }
    findings_of(report, rule)
}

fn evaluated(report: &Value, rule: &str) -> bool {
    !report["coverage"]["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["rule"] == rule)
}

fn pair(device: &str, severity: &str) -> (String, String) {
    (device.to_string(), severity.to_string())
}

#[test]
fn an_up_interface_without_carrier_is_down_and_critical_when_it_carries_the_default_route() {
    let (code, report) = replay("net-link-down");
    assert_eq!(code, 2);
    assert_eq!(
        of_rule(&report, "net.link_down"),
        [pair("fxa0", "critical"), pair("fxb0", "warning")]
    );
    let crit = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "net.link_down" && f["subject"]["device"] == "fxa0")
        .unwrap();
    assert_eq!(crit["evidence"]["nic.operstate"]["value"], "lowerlayerdown");
    assert_eq!(evidence(crit, "nic.admin_up"), 1.0);
    assert_eq!(evidence(crit, "nic.carrier"), 0.0);
    assert_eq!(evidence(crit, "nic.default_route"), 1.0);
    assert_eq!(
        crit["summary"],
        "administratively up but its link is lowerlayerdown"
    );
    // The peers were set down by hand: not broken links. No traffic: nic_errors quiet.
    assert!(of_rule(&report, "net.nic_errors").is_empty());
    assert!(evaluated(&report, "net.nic_errors"));
    assert_eq!(report["use_matrix"]["net"]["errors"], "critical");
}

#[test]
fn receive_errors_of_two_percent_of_the_packets_are_a_warning() {
    let (code, report) = replay("nic-errors");
    assert_eq!(code, 1);
    assert_eq!(of_rule(&report, "net.nic_errors"), [pair("fxs0", "warning")]);
    let f = finding(&report, "net.nic_errors").unwrap();
    // 60 errors of 931 received + 1,862 sent + 60 errored, over 1.0510 s.
    assert_eq!(evidence(f, "nic.packets_handled"), 2853.0);
    assert!((evidence(f, "nic.error_ratio") - 60.0 / 2853.0).abs() < 1e-12);
    let interval = 1.051028651998422;
    assert!((evidence(f, "nic.rx_errors_per_s") - 60.0 / interval).abs() < 1e-9);
    assert!((evidence(f, "nic.rx_packets_per_s") - 931.0 / interval).abs() < 1e-9);
    assert!((evidence(f, "nic.tx_packets_per_s") - 1862.0 / interval).abs() < 1e-9);
    assert_eq!(evidence(f, "nic.rx_drops_per_s"), 0.0);
    assert_eq!(evidence(f, "nic.tx_errors_per_s"), 0.0);
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .starts_with("2.1% of 2,853 packets lost: rx errors 57.1/s"),
        "{}",
        f["summary"]
    );
    assert!(of_rule(&report, "net.link_down").is_empty());
    assert_eq!(report["use_matrix"]["net"]["errors"], "warning");
}

#[test]
fn a_busy_clean_link_is_evaluated_and_quiet() {
    let (code, report) = replay("net-veth");
    assert_eq!(code, 0);
    assert_eq!(findings(&report), []);
    for rule in [
        "net.link_down",
        "net.nic_errors",
        "net.retransmits",
        "net.listen_overflow",
    ] {
        assert!(evaluated(&report, rule), "{rule} not evaluated");
    }
    assert_eq!(report["use_matrix"]["net"]["errors"], "ok");
    assert_eq!(report["use_matrix"]["net"]["saturation"], "ok");
}

/// Every NIC rule fires in one fixture and stays quiet (evaluated) in another.
#[test]
fn each_nic_rule_has_a_firing_and_a_quiet_fixture() {
    let fixtures = ["net-link-down", "net-veth", "nic-errors"];
    let reports: Vec<Value> = fixtures.iter().map(|n| replay(n).1).collect();
    for rule in ["net.link_down", "net.nic_errors"] {
        let fires = reports.iter().any(|r| !of_rule(r, rule).is_empty());
        let quiet = reports
            .iter()
            .any(|r| of_rule(r, rule).is_empty() && evaluated(r, rule));
        assert!(fires && quiet, "{rule}: fires {fires}, quiet {quiet}");
    }
}

/// A snapshot taken before interfaces were read does not judge them; a host (or namespace) with only
/// loopback lacks the resource: its NIC rules are "absent" with the reason.
#[test]
fn older_snapshots_skip_the_nic_rules_and_loopback_alone_is_absent() {
    let (_, report) = replay("disk-busy");
    let not_evaluated = report["coverage"]["not_evaluated"].as_array().unwrap();
    let why = not_evaluated
        .iter()
        .find(|n| n["rule"] == "net.link_down")
        .unwrap();
    assert_eq!(why["reason"], "not in this older snapshot");
    assert_ne!(why["absent"], true);

    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(fixture("healthy").join("sample1"))
        .arg(&tree)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::create_dir_all(tree.join("proc/net")).unwrap();
    std::fs::write(
        tree.join("proc/net/dev"),
        "Inter-|   Receive                                                |  Transmit\n \
face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
lo:    6386      58    0    0    0     0          0         0     6386      58    0    0    0     0       0          0\n",
    )
    .unwrap();
    let (_, report) = check_json(&["--root", tree.to_str().unwrap(), "--interval", "0.1"]);
    for rule in ["net.link_down", "net.nic_errors"] {
        let why = report["coverage"]["not_evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["rule"] == rule)
            .unwrap_or_else(|| panic!("{rule} evaluated"));
        assert_eq!(why["absent"], true, "{why}");
        assert_eq!(why["reason"], "no network interface but loopback");
    }
    // This tree has no kernel log: the other rules of the net errors column (kernel events) are not
    // evaluated either, so the cell shows nothing was checked.
    assert_ne!(report["use_matrix"]["net"]["errors"], "ok");
}

#[test]
fn ten_percent_of_segments_dropped_by_nftables_is_critical_retransmission() {
    let (code, report) = replay("net-retransmits");
    assert_eq!(code, 2);
    assert_eq!(
        findings(&report),
        [(
            "net.retransmits".to_string(),
            "host".to_string(),
            "critical".to_string()
        )]
    );
    let f = finding(&report, "net.retransmits").unwrap();
    // 1,530 retransmitted of 12,253 sent over 1.0509 s.
    assert_eq!(evidence(f, "host.tcp.out_segs"), 12253.0);
    assert!((evidence(f, "host.tcp.retrans_ratio") - 1530.0 / 12253.0).abs() < 1e-12);
    let interval = 1.0508711819984455;
    assert!((evidence(f, "host.tcp.retrans_segs_per_s") - 1530.0 / interval).abs() < 1e-9);
    assert!((evidence(f, "host.tcp.out_segs_per_s") - 12253.0 / interval).abs() < 1e-9);
    assert_eq!(
        f["summary"],
        "12.5% of TCP segments sent were retransmissions (1,456/s retransmitted, 11,660/s sent)"
    );
    // The drops are the firewall's, past a clean NIC; no listener dropped anything.
    for rule in ["net.nic_errors", "net.link_down", "net.listen_overflow"] {
        assert!(evaluated(&report, rule), "{rule} not evaluated");
    }
    assert_eq!(report["use_matrix"]["net"]["errors"], "critical");
    assert_eq!(report["use_matrix"]["net"]["saturation"], "ok");
}

#[test]
fn a_listener_that_never_accepts_overflows_and_a_loopback_only_namespace_has_no_nic() {
    let (code, report) = replay("net-listen-overflow");
    assert_eq!(code, 2);
    assert_eq!(
        findings(&report),
        [(
            "net.listen_overflow".to_string(),
            "host".to_string(),
            "critical".to_string()
        )]
    );
    let f = finding(&report, "net.listen_overflow").unwrap();
    assert_eq!(evidence(f, "host.tcp.listen_drops"), 2405.0);
    let interval = 1.7291727510000783;
    assert!((evidence(f, "host.tcp.listen_drops_per_s") - 2405.0 / interval).abs() < 1e-9);
    assert!((evidence(f, "host.tcp.listen_overflows_per_s") - 2405.0 / interval).abs() < 1e-9);
    assert_eq!(evidence(f, "host.tcp.backlog_drops_per_s"), 0.0);
    assert_eq!(evidence(f, "host.net.somaxconn"), 4096.0);
    // The listener is named: its port, the Python process holding it, its queue against the backlog
    // sock_diag gave when captured (recorded in sample2/osdoctor/listen-backlogs).
    let named = "127.0.0.1:5202 (pid 23491 python3) accept queue 2 of 1";
    assert_eq!(f["evidence"]["host.tcp.full_listener"]["value"], named);
    assert_eq!(f["evidence"]["host.tcp.full_listener_pids"]["value"], "23491");
    assert_eq!(evidence(f, "host.tcp.full_listeners"), 1.0);
    assert!(
        f["summary"]
            .as_str()
            .unwrap()
            .ends_with(&format!(": {named}; somaxconn 4,096")),
        "{f:#}"
    );
    assert!(
        f["next_steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().starts_with("top -H -p 23491 "))
    );
    // Whose namespace: the fixture's own (ip netns exec); init's could not be read, even as root.
    assert_eq!(
        f["evidence"]["host.net.namespace"]["value"],
        "net:[4026532174] (whether it is init's is unknown: /proc/1/ns/net could not be read)"
    );
    assert!(
        report["coverage"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("network namespace net:[4026532174]"))
    );
    // The SYNs are retransmitted (999 of 499 sent), but under the 1,000-segment floor: quiet.
    assert!(evaluated(&report, "net.retransmits"));
    for rule in ["net.link_down", "net.nic_errors"] {
        let why = report["coverage"]["not_evaluated"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["rule"] == rule)
            .unwrap();
        assert_eq!(why["absent"], true);
        assert_eq!(why["reason"], "no network interface but loopback");
    }
    assert_eq!(report["use_matrix"]["net"]["saturation"], "critical");
}

/// The TCP rules fire in one fixture and stay quiet (evaluated) in another.
#[test]
fn each_tcp_rule_has_a_firing_and_a_quiet_fixture() {
    let reports: Vec<Value> = ["net-veth", "net-retransmits", "net-listen-overflow"]
        .iter()
        .map(|n| replay(n).1)
        .collect();
    for rule in ["net.retransmits", "net.listen_overflow"] {
        let fires = reports.iter().any(|r| finding(r, rule).is_some());
        let quiet = reports
            .iter()
            .any(|r| finding(r, rule).is_none() && evaluated(r, rule));
        assert!(fires && quiet, "{rule}: fires {fires}, quiet {quiet}");
    }
}

/// The rules of the stack's resources in the order of their fixtures.
const STACK_RULES: [&str; 4] = [
    "net.conntrack_near_limit",
    "net.ephemeral_ports",
    "net.tcp_memory",
    "net.softnet_drops",
];

/// The stack fixtures, captured in namespaces (conntrack, ports) and on the host (memory, softnet).
const STACK_FIXTURES: [&str; 4] = [
    "net-conntrack",
    "net-ephemeral-ports",
    "net-tcp-memory",
    "net-softnet-drops",
];

fn host_findings(report: &Value) -> Vec<(String, String)> {
    findings(report)
        .into_iter()
        .filter(|(_, kind, _)| kind == "host")
        .map(|(rule, _, severity)| (rule, severity))
        .collect()
}

#[test]
fn a_full_conntrack_table_is_critical_and_explains_the_kernels_table_full_messages() {
    let (code, report) = replay("net-conntrack");
    assert_eq!(code, 2);
    assert_eq!(
        host_findings(&report),
        [
            pair("net.conntrack_full", "critical"),
            pair("net.conntrack_near_limit", "critical")
        ]
    );
    let f = finding(&report, "net.conntrack_near_limit").unwrap();
    // nf_conntrack_max was set to 110 and 100 connections held; 20 more tried and were dropped.
    assert_eq!(evidence(f, "host.net.conntrack_entries"), 110.0);
    assert_eq!(evidence(f, "host.net.conntrack_max"), 110.0);
    assert_eq!(evidence(f, "host.net.conntrack_ratio"), 1.0);
    assert_eq!(f["summary"], "110 of 110 conntrack entries used (100.0%)");
    // Linux 6.18's message names the namespace ("table full in netns N, dropping packet").
    let full = finding(&report, "net.conntrack_full").unwrap();
    assert_eq!(full["severity"], "critical");
    assert_eq!(
        full["summary"],
        "nf_conntrack table full, new connections dropped (10 reports), last 4 s ago"
    );
    let story = &report["diagnoses"][0];
    assert_eq!(story["cause"]["rule"], "net.conntrack_near_limit");
    assert_eq!(story["effects"][0]["rule"], "net.conntrack_full");
    assert_eq!(story["effects"].as_array().unwrap().len(), 1);
    // Inside the namespace tcp_mem cannot be seen: not evaluated, and not "absent".
    let why = report["coverage"]["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["rule"] == "net.tcp_memory")
        .unwrap();
    assert!(why["absent"].is_null(), "{why}");
    assert!(
        why["reason"]
            .as_str()
            .unwrap()
            .contains("host's network namespace"),
        "{why}"
    );
    assert_eq!(report["use_matrix"]["net"]["utilization"], "critical");
}

/// Each stack rule fires in its own fixture and nowhere else among them (evaluated and quiet in at
/// least one of the others).
#[test]
fn each_stack_rule_fires_in_its_fixture_and_is_quiet_in_another() {
    let reports: Vec<Value> = STACK_FIXTURES.iter().map(|n| replay(n).1).collect();
    for (i, rule) in STACK_RULES.iter().enumerate() {
        for (j, report) in reports.iter().enumerate() {
            assert_eq!(
                finding(report, rule).is_some(),
                i == j,
                "{rule} in {}",
                STACK_FIXTURES[j]
            );
        }
        let quiet = reports
            .iter()
            .any(|r| finding(r, rule).is_none() && evaluated(r, rule));
        assert!(quiet, "{rule} is never evaluated and quiet");
    }
}

#[test]
fn eighty_time_wait_ports_and_twelve_connections_of_a_hundred_port_range_are_critical() {
    let (code, report) = replay("net-ephemeral-ports");
    assert_eq!(code, 2);
    assert_eq!(host_findings(&report), [pair("net.ephemeral_ports", "critical")]);
    let f = finding(&report, "net.ephemeral_ports").unwrap();
    // ip_local_port_range 40000-40099 and tcp_tw_reuse 0 in the namespace; 80 connections closed
    // by the client first, 12 held, all to the one listener. The listener's side (port 5205) is
    // outside the range.
    assert_eq!(evidence(f, "host.net.ephemeral_held_to_busiest"), 92.0);
    assert_eq!(evidence(f, "host.net.ephemeral_range_size"), 100.0);
    assert_eq!(evidence(f, "host.net.ephemeral_ports_ratio"), 0.92);
    assert_eq!(evidence(f, "host.net.ephemeral_busiest_time_wait"), 80.0);
    assert_eq!(evidence(f, "host.net.ephemeral_busiest_connected"), 12.0);
    assert_eq!(evidence(f, "host.net.tcp_tw_reuse"), 0.0);
    assert_eq!(evidence(f, "host.net.ephemeral_ports_used"), 92.0);
    assert_eq!(
        f["evidence"]["host.net.ephemeral_top_destinations"]["value"],
        "127.0.0.1:5205 (92)"
    );
    assert_eq!(
        f["summary"],
        "92 of 100 local ports (40000-40099) held toward 127.0.0.1:5205: 80 in TIME_WAIT, 12 connected (tcp_tw_reuse 0)"
    );
}

#[test]
fn tcp_memory_over_a_lowered_pressure_value_is_a_warning() {
    let (code, report) = replay("net-tcp-memory");
    assert_eq!(code, 1);
    assert_eq!(host_findings(&report), [pair("net.tcp_memory", "warning")]);
    let f = finding(&report, "net.tcp_memory").unwrap();
    // sockstat TCP mem 39,224 pages of 4 KiB; tcp_mem set to "9806 19612 575814" for the capture.
    assert_eq!(evidence(f, "host.net.tcp_mem_bytes"), 39224.0 * 4096.0);
    assert_eq!(evidence(f, "host.net.tcp_mem_pressure_bytes"), 19612.0 * 4096.0);
    assert_eq!(evidence(f, "host.net.tcp_mem_max_bytes"), 575814.0 * 4096.0);
    assert_eq!(evidence(f, "host.net.tcp_mem_of_pressure"), 2.0);
    assert!((evidence(f, "host.net.tcp_mem_of_max") - 39224.0 / 575814.0).abs() < 1e-12);
    assert_eq!(
        f["summary"],
        "TCP sockets hold 153.2 MiB, over tcp_mem's pressure value 76.6 MiB (max 2.2 GiB, 6.8% of it)"
    );
}

#[test]
fn a_full_cpu_backlog_drops_packets() {
    let (code, report) = replay("net-softnet-drops");
    assert_eq!(code, 1);
    assert_eq!(host_findings(&report), [pair("net.softnet_drops", "warning")]);
    let f = finding(&report, "net.softnet_drops").unwrap();
    // netdev_max_backlog 1, a UDP flood on CPU 0 steered by RPS to CPU 1's backlog.
    assert_eq!(evidence(f, "host.net.softnet_dropped"), 141968.0);
    assert_eq!(evidence(f, "host.net.softnet_squeezed"), 0.0);
    let interval = 1.4694104940008401;
    assert!((evidence(f, "host.net.softnet_dropped_per_s") - 141968.0 / interval).abs() < 1e-6);
    assert_eq!(
        f["evidence"]["host.net.softnet_worst_cpu"]["value"],
        "CPU 1: 141,968 dropped, 0 squeezed"
    );
}

/// A Python listener on a free loopback port with listen(1) that never accepts: prints `ready PORT`.
const DEAF: &str = "import socket,time
s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(1)
print('ready', s.getsockname()[1], flush=True)
time.sleep(60)";

/// Opens about 500 non-blocking connections a second to 127.0.0.1:PORT for at most 20 s, keeping the
/// newest 200 open: prints `ready`.
const KNOCK: &str = "import socket,sys,time,collections
q=collections.deque(); port=int(sys.argv[1]); end=time.time()+20; print('ready',flush=True)
while time.time()<end:
  c=socket.socket(); c.setblocking(False); c.connect_ex(('127.0.0.1',port)); q.append(c)
  while len(q)>200: q.popleft().close()
  time.sleep(0.002)";

/// Live: a listener that never accepts while clients keep connecting. The check names its port, its
/// process and its backlog from sock_diag (live).
#[test]
fn a_deaf_listener_is_named_with_its_process_and_backlog_live() {
    let _lock = machine_lock();
    let mut deaf = std::process::Command::new("python3");
    deaf.args(["-c", DEAF]);
    let listener = Load::spawn(deaf);
    let port = listener.words[1].clone();
    let mut knock = std::process::Command::new("python3");
    knock.args(["-c", KNOCK, &port]);
    let _clients = Load::spawn(knock);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let (code, report) = check_json(&["--interval", "1"]);
    assert_ne!(code, 3, "{report:#}");
    let f = finding(&report, "net.listen_overflow").expect("the overflow is seen");
    assert_eq!(f["subject"]["kind"], "host");
    let named = f["evidence"]["host.tcp.full_listener"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no listener named: {f:#}"));
    let expect = format!(
        "127.0.0.1:{port} (pid {} python3) accept queue 2 of 1",
        listener.pid()
    );
    assert!(named.contains(&expect), "{named}");
    assert!(
        f["evidence"]["host.tcp.full_listener_pids"]["value"]
            .as_str()
            .unwrap()
            .split(',')
            .any(|p| p == listener.pid().to_string()),
        "{f:#}"
    );
    assert!(f["summary"].as_str().unwrap().contains(&expect), "{f:#}");
}

/// A replay without the sock_diag record (an older snapshot's): the listener is still named, its
/// limit "at most" somaxconn, and coverage says why.
#[test]
fn without_the_recorded_backlog_the_listener_is_bounded_by_somaxconn() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("snap");
    let status = std::process::Command::new("cp")
        .args(["-a"])
        .arg(fixture("net-listen-overflow"))
        .arg(&copy)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::remove_file(copy.join("sample2/osdoctor/listen-backlogs")).unwrap();
    let (code, report) = check_json(&["--root", copy.to_str().unwrap()]);
    assert_eq!(code, 2);
    let f = finding(&report, "net.listen_overflow").unwrap();
    assert_eq!(
        f["evidence"]["host.tcp.full_listener"]["value"],
        "127.0.0.1:5202 (pid 23491 python3) accept queue 2 of at most 4096 (net.core.somaxconn: the backlog was not read)"
    );
    assert!(
        report["coverage"]["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().starts_with(
                "the listeners' backlogs were not read (this snapshot holds no record of sock_diag"
            )),
        "{:#}",
        report["coverage"]
    );
}
