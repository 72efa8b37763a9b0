//! Other people's inputs never crash osdoctor: every parser family over arbitrary and file-like
//! bytes (property tests), the corpus the coverage-guided campaigns saved (`tests/fuzz/corpus/`, see
//! `tests/fuzz/README.md`), and whole `--root` trees whose files are missing, empty, truncated,
//! binary, enormous, FIFOs or looping symlinks.

#[path = "../fuzz/src/targets.rs"]
mod targets;

use proptest::prelude::*;

use crate::util::*;

#[test]
fn the_saved_corpus_replays_without_a_panic() {
    let corpus = repo().join("tests/fuzz/corpus");
    let mut replayed = 0;
    for (name, target) in targets::TARGETS {
        let dir = corpus.join(name);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| target(&data));
            assert!(outcome.is_ok(), "{name}: {} panicked", path.display());
            replayed += 1;
        }
    }
    assert!(replayed > 0, "no corpus under {}", corpus.display());
}

/// Lines of the files the targets parse, to get past the first checks of each parser.
fn file_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just("MemTotal:       24576000 kB\n".to_string()),
        Just("cpu  1 2 3 4 5 6 7 8 9 10\n".to_string()),
        Just("some avg10=1.00 avg60=2.00 avg300=3.00 total=4\n".to_string()),
        Just("   8       0 sda 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17\n".to_string()),
        Just("1 (a b) S 0 1 1 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 1 0 5 1 1 18446744073709551615\n".to_string()),
        Just("Name:\tx\nState:\tS (sleeping)\nUid:\t0\t0\t0\t0\nFDSize:\t64\nNSpid:\t1\t2\n".to_string()),
        Just("Max open files            1024                 4096                 files     \n".to_string()),
        Just("   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 48213 1 0 100 0 0 10 0\n".to_string()),
        Just("socket:[48213]\n".to_string()),
        Just("pipe:[1]\n/dev/null\n/x (deleted)\nanon_inode:[eventpoll]\n".to_string()),
        Just("TCP: inuse 5 orphan 0 tw 2 alloc 7 mem 1\n".to_string()),
        Just("Tcp: RtoAlgorithm RetransSegs\nTcp: 1 2\n".to_string()),
        Just("  eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n".to_string()),
        Just("00000001 00000002 00000003\n".to_string()),
        Just("7f0000000000 default anon=1 dirty=1 N0=1 N1=2 kernelpagesize_kB=4\n".to_string()),
        Just("0-3,8\n".to_string()),
        Just("10 21\n".to_string()),
        Just("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-abc.scope\n".to_string()),
        Just("36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n".to_string()),
        Just("[[rule]]\nid = \"a.b\"\ntitle = \"t\"\nresource = \"cpu\"\nuse = \"saturation\"\nsubject = \"host\"\nmetric = \"host.cpus\"\nwarn = { ge = 1 }\nsummary = \"{host.cpus}\"\ncause = \"c\"\nnext_steps = [\"[[{!host.cpus}x]]\"]\nprovenance = \"p\"\n".to_string()),
        Just("{\"version\":2,\"runs\":[{\"time\":\"2026-01-01T00:00:00Z\",\"findings\":[],\"partial\":false}]}".to_string()),
        Just("/\t4096\t100\t50\t40\t1000\t900\n".to_string()),
        "[ -~]{0,40}".prop_map(|s| s),
        "[0-9]{1,25}".prop_map(|s| s),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just(":".to_string()),
        Just("\u{fffd}".to_string()),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn no_parser_panics_on_arbitrary_bytes(data in prop::collection::vec(any::<u8>(), 0..4096)) {
        for (_, target) in targets::TARGETS {
            target(&data);
        }
    }

    #[test]
    fn no_parser_panics_on_file_like_bytes(data in file_like()) {
        for (_, target) in targets::TARGETS {
            target(&data);
        }
    }
}

/// Run `check` on `root` as a user would, with a deadline: it must give a report (exit 0-3, JSON on
/// stdout) and never panic or hang.
fn check_survives(root: &std::path::Path) -> serde_json::Value {
    let (code, out, err) = run(osdoctor()
        .args([
            "check",
            "--format",
            "json",
            "--interval",
            "0.1",
            "--timeout",
            "20",
            "--root",
        ])
        .arg(root));
    assert!((0..=3).contains(&code), "exit {code}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\n{err}"))
}

/// The files of a host tree osdoctor reads, each a way of being wrong.
fn write_hostile_tree(dir: &std::path::Path) {
    use std::os::unix::fs::symlink;
    let p = |rel: &str| {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        path
    };
    let fifo = |rel: &str| {
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p(rel),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
    };
    // Binary, empty, truncated, enormous, a FIFO, loops and escapes.
    std::fs::write(p("proc/meminfo"), [0xffu8, 0x00, 0xfe, b'\n', 0x80].repeat(1000)).unwrap();
    std::fs::write(p("proc/stat"), "").unwrap();
    std::fs::write(p("proc/loadavg"), "0.5").unwrap();
    // 40 MiB of one line: more than osdoctor reads of any file.
    let big = std::fs::File::create(p("proc/vmstat")).unwrap();
    big.set_len(40 << 20).unwrap();
    fifo("proc/pressure/cpu");
    symlink("diskstats2", p("proc/diskstats")).unwrap();
    symlink("diskstats", p("proc/diskstats2")).unwrap();
    symlink("../../../../../../etc/passwd", p("proc/self/mountinfo")).unwrap();
    symlink("/etc/shadow", p("proc/net/dev")).unwrap();
    std::fs::write(p("proc/net/snmp"), "Tcp: a b\nTcp: 1\n").unwrap();
    std::fs::write(p("proc/net/tcp"), "header\n   0: zz:yy\n").unwrap();
    std::fs::write(p("proc/sys/kernel/osrelease"), [0xc3u8, 0x28]).unwrap();
    std::fs::write(p("proc/sys/fs/file-nr"), "1 2").unwrap();
    fifo("proc/sys/kernel/pid_max");
    std::fs::write(p("sys/fs/cgroup/cgroup.controllers"), "cpu memory\0\0").unwrap();
    std::fs::write(p("sys/fs/cgroup/memory.max"), "-1\n").unwrap();
    symlink(".", p("sys/block/loop")).unwrap();
    // Processes: a truncated stat, a binary status, fd links that loop or escape, a FIFO for limits.
    std::fs::write(p("proc/1/stat"), "1 (x").unwrap();
    std::fs::write(
        p("proc/2/stat"),
        "2 (a) S 1 2 2 0 -1 4194560 1 0 0 0 1 1 0 0 20 0 1 0 5 1 1",
    )
    .unwrap();
    std::fs::write(p("proc/2/status"), [0u8; 4096]).unwrap();
    fifo("proc/2/limits");
    std::fs::create_dir_all(p("proc/2/fd/x").parent().unwrap()).unwrap();
    symlink("/proc/2/fd/1", p("proc/2/fd/0")).unwrap();
    symlink("socket:[99999999999999999999]", p("proc/2/fd/1")).unwrap();
    symlink("../../../../etc", p("proc/2/fd/2")).unwrap();
    std::fs::write(p("proc/3/stat"), "3 ())) R 1 1 1 0 -1 0 0 0 0 0 18446744073709551615 18446744073709551615 0 0 20 0 1 0 99999999999999999999 1 1").unwrap();
    std::fs::write(p("proc/3/cgroup"), "0::/../../..\n\n::\n").unwrap();
    std::fs::write(p("dev/kmsg"), "6,1,2,-;x\n\u{0}\u{ff}\n").unwrap();
}

#[test]
fn a_hostile_root_tree_gives_a_report_never_a_panic_or_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    write_hostile_tree(dir.path());
    let report = check_survives(dir.path());
    // What could not be read is listed, not guessed.
    let unreadable = report["coverage"]["unreadable"].as_array().unwrap();
    let listed = |path: &str| unreadable.iter().any(|p| p["path"] == path);
    for path in ["/proc/meminfo", "/proc/pressure/cpu", "/proc/vmstat"] {
        assert!(listed(path), "{path} not in coverage: {unreadable:#?}");
    }
}

/// The files osdoctor reads from a host tree, to fill with generated content.
const TREE_FILES: &[&str] = &[
    "proc/meminfo",
    "proc/stat",
    "proc/vmstat",
    "proc/loadavg",
    "proc/pressure/cpu",
    "proc/pressure/memory",
    "proc/pressure/io",
    "proc/diskstats",
    "proc/self/mountinfo",
    "proc/net/dev",
    "proc/net/snmp",
    "proc/net/netstat",
    "proc/net/sockstat",
    "proc/net/tcp",
    "proc/sys/fs/file-nr",
    "proc/sys/kernel/pid_max",
    "proc/sys/kernel/threads-max",
    "proc/10/stat",
    "proc/10/status",
    "proc/10/limits",
    "proc/10/cgroup",
    "proc/10/schedstat",
    "sys/fs/cgroup/memory.stat",
    "sys/fs/cgroup/cpu.stat",
    "dev/kmsg",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn generated_root_trees_give_a_report(contents in prop::collection::vec(
        prop_oneof![file_like(), prop::collection::vec(any::<u8>(), 0..512)],
        TREE_FILES.len(),
    )) {
        let dir = tempfile::tempdir().unwrap();
        for (rel, data) in TREE_FILES.iter().zip(&contents) {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, data).unwrap();
        }
        check_survives(dir.path());
    }
}
