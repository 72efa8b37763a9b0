//! The text dialects: one real-looking line (or a few) of each, and the fields taken from it.

use chrono::FixedOffset;

use super::record::LogRecord;
use super::text::{TextOptions, parse_text, parse_text_bytes, parse_text_with};

fn one(line: &str) -> LogRecord {
    let parsed = parse_text(line, Some(2026));
    assert_eq!(parsed.records.len(), 1, "{line:?} -> {parsed:?}");
    parsed.records.into_iter().next().unwrap_or_default()
}

fn wall(record: &LogRecord) -> String {
    record.wall.map(|w| w.to_rfc3339()).unwrap_or_default()
}

#[test]
fn plain_dmesg() {
    let r = one("[  401.343231] Memory cgroup out of memory: Killed process 8060 (python3)\r");
    assert_eq!(r.mono_usec, Some(401_343_231));
    assert_eq!(
        r.text,
        "Memory cgroup out of memory: Killed process 8060 (python3)"
    );
    assert_eq!(r.wall, None);
    assert_eq!(r.level, None);
}

#[test]
fn dmesg_raw_and_decoded_levels_and_delta() {
    let r = one("<3>[    1.500000] boom");
    assert_eq!(
        (r.facility, r.level, r.mono_usec),
        (Some(0), Some(3), Some(1_500_000))
    );
    let r = one("kern  :err   : [    1.2] boom");
    assert_eq!(
        (r.facility, r.level, r.mono_usec),
        (Some(0), Some(3), Some(1_200_000))
    );
    assert_eq!(r.text, "boom");
    let r = one("user  :notice: [   5.000001] hello");
    assert_eq!(r.facility, Some(1));
    let r = one("[    0.000002 <    0.000002>] delta");
    assert_eq!((r.mono_usec, r.text.as_str()), (Some(2), "delta"));
    let r = one("[  +0.000012] relative");
    assert_eq!((r.mono_usec, r.text.as_str()), (None, "relative"));
}

#[test]
fn dmesg_ctime_in_english_and_german() {
    let r = one("[Mon Nov 23 15:54:01 2026] msg");
    assert_eq!(wall(&r), "2026-11-23T15:54:01+00:00");
    assert!(r.wall_zone_assumed);
    assert_eq!(r.text, "msg");
    let r = one("[Thu Dec  7 00:05:14 2017] Killed process 28438 (java)");
    assert_eq!(wall(&r), "2017-12-07T00:05:14+00:00");
    let r = one("[Di Dez  5 10:00:00 2023] x");
    assert_eq!(wall(&r), "2023-12-05T10:00:00+00:00");
}

#[test]
fn assumed_offset_applies_to_zoneless_stamps() {
    let options = TextOptions {
        year: Some(2026),
        offset: FixedOffset::east_opt(3600),
    };
    let parsed = parse_text_with(
        "[Mon Nov 23 15:54:01 2026] msg\nNov 23 15:54:02 h kernel: x",
        &options,
    );
    assert_eq!(wall(&parsed.records[0]), "2026-11-23T15:54:01+01:00");
    assert_eq!(wall(&parsed.records[1]), "2026-11-23T15:54:02+01:00");
}

#[test]
fn journalctl_short_and_syslog() {
    let r = one("Nov 23 15:54:01 node-1 kernel: oom-kill:constraint=CONSTRAINT_MEMCG");
    assert_eq!(wall(&r), "2026-11-23T15:54:01+00:00");
    assert_eq!(r.text, "oom-kill:constraint=CONSTRAINT_MEMCG");
    assert_eq!(r.mono_usec, None);
    let r = one("Mar  2 17:35:10 server1 kernel: [2858609.598568] Killed process 11726, UID 498, (mysqld)");
    assert_eq!(r.mono_usec, Some(2_858_609_598_568));
    assert_eq!(r.text, "Killed process 11726, UID 498, (mysqld)");
    assert_eq!(wall(&r), "2026-03-02T17:35:10+00:00");
    let r = one("Nov 23 15:54:01.123456 node-1 kernel: precise");
    assert_eq!(wall(&r), "2026-11-23T15:54:01.123456+00:00");
    // journalctl --no-hostname
    let r = one("Jan 09 14:15:16 kernel: Out of memory: Killed process 569725 (uvicorn)");
    assert_eq!(r.text, "Out of memory: Killed process 569725 (uvicorn)");
}

#[test]
fn other_programs_are_dropped() {
    let text = "May  8 14:05:27 doris-03 kernel: Memory cgroup out of memory: Kill process 24984\n\
                May  8 14:05:34 doris-03 containerd: time=\"2020-05-08T14:05:34\" level=info\n\
                Nov 23 15:54:01 h sshd[123]: Accepted publickey\n\
                2026-11-23T15:54:01.123456+00:00 h systemd[1]: Started x\n\
                Jan 09 14:15:16 systemd-journald[375]: Under memory pressure\n\
                -- Boot 0123456789abcdef --\n";
    let parsed = parse_text(text, Some(2020));
    assert_eq!(parsed.records.len(), 1);
    assert_eq!(parsed.skipped_lines, 5);
}

#[test]
fn iso_variants() {
    let r = one("2026-11-23T15:54:01.123456+00:00 host kernel: rfc3339");
    assert_eq!(wall(&r), "2026-11-23T15:54:01.123456+00:00");
    assert!(!r.wall_zone_assumed);
    assert_eq!(r.text, "rfc3339");
    let r = one("2026-11-23T15:54:01+0100 host kernel: short-iso");
    assert_eq!(wall(&r), "2026-11-23T15:54:01+01:00");
    let r = one("2024-08-20T17:38:27.488639+00:00 sonic kernel: [   90.864905] runc[7180]: segfault at 0");
    assert_eq!(r.mono_usec, Some(90_864_905));
    assert_eq!(r.text, "runc[7180]: segfault at 0");
    // dmesg --time-format=iso: comma before the fraction, no host or tag.
    let r = one("2026-11-23T15:54:01,123456+00:00 EXT4-fs (vda): mounted");
    assert_eq!(r.text, "EXT4-fs (vda): mounted");
    assert_eq!(wall(&r), "2026-11-23T15:54:01.123456+00:00");
}

#[test]
fn journalctl_other_outputs() {
    let r = one("Mon 2026-11-23 15:54:01 UTC host kernel: full");
    assert_eq!(
        (wall(&r).as_str(), r.wall_zone_assumed),
        ("2026-11-23T15:54:01+00:00", false)
    );
    let r = one("[  401.336949] host kernel: monotonic");
    assert_eq!((r.mono_usec, r.text.as_str()), (Some(401_336_949), "monotonic"));
    let r = one("[  401.336949] EXT4-fs (vda): mounted filesystem");
    assert_eq!(r.text, "EXT4-fs (vda): mounted filesystem");
    let r = one("1795330062.470000 host kernel: unix");
    assert_eq!(wall(&r), "2026-11-22T06:47:42.470+00:00");
}

#[test]
fn busybox_and_console_captures() {
    let r = one("Wed Mar 27 02:55:10 2019 kern.warn kernel: [   12.345678] openwrt");
    assert_eq!(wall(&r), "2019-03-27T02:55:10+00:00");
    assert_eq!(
        (r.level, r.mono_usec, r.text.as_str()),
        (Some(4), Some(12_345_678), "openwrt")
    );
    let r = one("2023-12-04T10:49:30.103Z In(05) vcpu-5 - Guest: <4>[39261021.091603] Call Trace:");
    assert_eq!((r.level, r.mono_usec), (Some(4), Some(39_261_021_091_603)));
    assert_eq!(r.text, "Call Trace:");
}

#[test]
fn dmesg_chained_brackets_and_caller() {
    let r =
        one("kern  :err   : [  +0.000001] [Tue Jan 13 04:33:10 2026] [T88870] I/O error, dev sda, sector 1");
    assert_eq!((r.level, r.caller.as_deref()), (Some(3), Some("T88870")));
    assert_eq!(wall(&r), "2026-01-13T04:33:10+00:00");
    assert_eq!(r.text, "I/O error, dev sda, sector 1");
    let r = one("[  12.000001] [C1] msg");
    assert_eq!(
        (r.mono_usec, r.caller.as_deref(), r.text.as_str()),
        (Some(12_000_001), Some("C1"), "msg")
    );
    // Not a caller id without a dmesg prefix in front.
    assert_eq!(one("[T1] msg").text, "[T1] msg");
}

#[test]
fn printk_stamp_behind_an_unknown_prefix() {
    let r = one("Jun 25, 2021 @ 12:42:13.029 | kernel | [113782.638786] Memory cgroup out of memory");
    assert_eq!(
        (r.mono_usec, r.text.as_str()),
        (Some(113_782_638_786), "Memory cgroup out of memory")
    );
    let r = one("/ # [90216.140000] watchdog: BUG: soft lockup - CPU#0 stuck for 186s! [kworker/u3:3:2073]");
    assert_eq!(r.mono_usec, Some(90_216_140_000));
    // A recognised syslog line keeps its message whole.
    let r = one("Nov 23 15:54:01 h kernel: foo [ 12.345678] bar");
    assert_eq!(r.text, "foo [ 12.345678] bar");
}

#[test]
fn bare_text_grep_output_and_quotes() {
    let r = one("kernel: java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0");
    assert_eq!(
        r.text,
        "java invoked oom-killer: gfp_mask=0xd0, order=0, oom_score_adj=0"
    );
    let r = one("> Nov 30 10:16:57 iZuf601 kernel: Killed process 799153 (node), UID 1000,");
    assert_eq!(r.text, "Killed process 799153 (node), UID 1000,");
    let r = one("   Killed process 1 (x) total-vm:1kB   ");
    assert_eq!(
        (r.text.as_str(), r.mono_usec, r.wall),
        ("Killed process 1 (x) total-vm:1kB", None, None)
    );
    // A task-table row is not a timestamp.
    let r = one("[ 8060]     0  8060    69678    17890 python3");
    assert_eq!(
        (r.mono_usec, r.text.as_str()),
        (None, "[ 8060]     0  8060    69678    17890 python3")
    );
}

#[test]
fn syslog_years_roll_over_backwards_from_the_hint() {
    let text = "Dec 31 23:59:59 h kernel: old\nJan  1 00:00:01 h kernel: new\n";
    let parsed = parse_text(text, Some(2027));
    assert_eq!(wall(&parsed.records[0]), "2026-12-31T23:59:59+00:00");
    assert_eq!(wall(&parsed.records[1]), "2027-01-01T00:00:01+00:00");
    // February 29th exists only in leap years.
    let parsed = parse_text("Feb 29 12:00:00 h kernel: leap", Some(2025));
    assert_eq!(parsed.records[0].wall, None);
    assert_eq!(parsed.records[0].text, "leap");
}

#[test]
fn wrapped_lines_are_joined_to_the_line_they_continue() {
    let text = "[5193605.506728] Task in /kubepods/pod9/c1 killed as a result of limit of /kubepo\n\
                ds/pod9/c1\n\
                [ 503.293880] active_anon:239 inactive_anon:6955\n\
                \x20               active_file:7458 inactive_file:23136\n\
                Nov 23 15:54:01 h sshd[1]: a message\n\
                \x20   its second line\n\
                \n\
                a bare line\n\
                another bare line\n\
                [ 1.000000] a short line\n\
                oom-kill:constraint=CONSTRAINT_NONE\n";
    let parsed = parse_text(text, Some(2026));
    let texts: Vec<&str> = parsed.records.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Task in /kubepods/pod9/c1 killed as a result of limit of /kubepods/pod9/c1",
            "active_anon:239 inactive_anon:6955 active_file:7458 inactive_file:23136",
            "a bare line",
            "another bare line",
            "a short line",
            "oom-kill:constraint=CONSTRAINT_NONE",
        ]
    );
    assert_eq!(parsed.skipped_lines, 2);
}

#[test]
fn markdown_fences_are_not_log_lines() {
    let text = "```shell\n```[Sun Mar 30 08:24:00 2025] first\n[Sun Mar 30 08:24:01 2025] last```\n```\n";
    let parsed = parse_text(text, None);
    let texts: Vec<&str> = parsed.records.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, ["first", "last"]);
    assert!(parsed.records.iter().all(|r| r.wall.is_some()));
}

#[test]
fn invalid_utf8_is_decoded_lossily() {
    let parsed = parse_text_bytes(b"[    1.000000] caf\xe9\n\n\xff\xfe\n", Some(2026));
    assert_eq!(parsed.records.len(), 2);
    assert_eq!(parsed.records[0].text, "caf\u{fffd}");
}
