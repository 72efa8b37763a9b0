//! A sosreport as `--root`: the directory fixture (a real `sos report --build` of this VM with 30
//! zombies, an OOM kill and a task in D state) and its archives (.tar.xz, .tar.gz, .tar.bz2 built
//! from it here).

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::*;

const SOS: &str = "sosreport-zombies-oom";

/// rule, subject kind, severity, pid, comm.
type Found = (String, String, String, Option<i64>, Option<String>);

/// The findings of the induced conditions (the ring buffer's older events left out).
fn induced(report: &Value) -> Vec<Found> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["rule"] == "proc.zombies"
                || f["subject"]["pid"] == 22014
                || f["subject"]["cgroup"] == "/osd-sos"
        })
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"]["kind"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["subject"]["pid"].as_i64(),
                f["subject"]["comm"].as_str().map(str::to_string),
            )
        })
        .collect();
    v.sort();
    v
}

fn not_evaluated<'a>(report: &'a Value, rule: &str) -> Option<&'a str> {
    report["coverage"]["not_evaluated"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["rule"] == rule)
        .map(|n| n["reason"].as_str().unwrap())
}

#[test]
fn a_sosreport_directory_is_read_as_one_sample_at_its_capture() {
    let dir = fixture(SOS);
    let (code, report) = check_json(&["--root", dir.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(report["host"]["source"], "sosreport");
    assert_eq!(report["host"]["hostname"], "vm");
    assert_eq!(report["host"]["kernel"], "6.18.44-fc-v1300");
    assert_eq!(report["schema_version"], 9);
    assert_eq!(report["interval_s"], 0.0);

    // 30 zombies of one parent, from the ps table.
    let z = finding(&report, "proc.zombies").unwrap();
    assert_eq!(z["severity"], "warning");
    assert_eq!(evidence(z, "host.tasks.zombies"), 30.0);
    let parents = z["evidence"]["host.zombie_parents"]["value"].as_str().unwrap();
    assert!(
        parents.starts_with("pid 22039 (loadgen, user root, cgroup /process_api/")
            && parents.ends_with("has 30 unreaped zombie children"),
        "{parents}"
    );

    // The OOM kill from the saved dmesg: its victim, cgroup and age at capture.
    let kills: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "mem.oom_kill" && f["subject"]["pid"] == 22014)
        .collect();
    assert_eq!(kills.len(), 1);
    assert_eq!(kills[0]["subject"]["comm"], "loadgen");
    assert_eq!(kills[0]["severity"], "critical");
    let summary = kills[0]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("OOM-killed 7 s ago") && summary.contains("memory cgroup /osd-sos hit its limit"),
        "{summary}"
    );
    assert_eq!(
        induced(&report),
        vec![
            (
                "cgroup.oom_kill".into(),
                "cgroup".into(),
                "critical".into(),
                None,
                None
            ),
            (
                "mem.oom_kill".into(),
                "process".into(),
                "critical".into(),
                Some(22014),
                Some("loadgen".into())
            ),
            ("proc.zombies".into(), "host".into(), "warning".into(), None, None),
        ]
    );

    // Rules that need two samples are not evaluated, for the sosreport's reason.
    let one = "a sosreport holds one sample, taken at its capture: rates and changes need two";
    for rule in [
        "cpu.utilization",
        "net.retransmits",
        "mem.major_faults",
        "proc.context_switch_storm",
    ] {
        assert_eq!(not_evaluated(&report, rule), Some(one), "{rule}");
    }
    // D state: its one-sample form, the tasks in D state at capture (one, below the warning level of 5).
    assert_eq!(not_evaluated(&report, "proc.uninterruptible"), None);
    // What ps does not show (limits) is not guessed.
    let limits = not_evaluated(&report, "fd.process_near_limit").unwrap();
    assert!(
        limits.starts_with("not in a sosreport: its processes are listed by ps"),
        "{limits}"
    );

    // Read from where: sysctl -a for /proc/sys, df for capacity, dmesg for the kernel log.
    let read: Vec<&str> = report["coverage"]["read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for path in [
        "/proc/sys/fs/file-nr",
        "/sos_commands/kernel/sysctl_-a",
        "/sos_commands/kernel/dmesg",
        "/sos_commands/process/ps_alxwww",
        "/sos_commands/process/ps_-elfL",
        "/sos_commands/filesys/df_-al_-x_autofs",
        "/osdoctor/filesystems",
    ] {
        assert!(read.contains(&path), "{path} not read: {read:?}");
    }
    let notes = report["coverage"]["notes"].as_array().unwrap();
    assert!(
        notes.iter().any(|n| n.as_str().unwrap().starts_with(
            "a sosreport (sos 4.0) taken at 2026-12-07T16:04:52Z (sos_commands/date/date_--utc)"
        )),
        "{notes:?}"
    );
}

#[test]
fn since_counts_back_from_the_capture() {
    // The induced kill was 7 s before capture; the ring buffer's older events are minutes older.
    let dir = fixture(SOS);
    let (_, report) = check_json(&["--root", dir.to_str().unwrap(), "--since", "1m"]);
    let got = findings(&report);
    assert_eq!(
        got,
        vec![
            ("cgroup.oom_kill".into(), "cgroup".into(), "critical".into()),
            ("mem.oom_kill".into(), "process".into(), "critical".into()),
            ("proc.zombies".into(), "host".into(), "warning".into()),
        ]
    );
    assert_eq!(finding(&report, "mem.oom_kill").unwrap()["subject"]["pid"], 22014);
}

/// Pack the fixture as `sos report` does: one top directory, compressed by `kind`.
fn pack(dir: &Path, out: &Path, kind: &str) {
    let file = std::fs::File::create(out).unwrap();
    let writer: Box<dyn std::io::Write> = match kind {
        "xz" => Box::new(liblzma::write::XzEncoder::new(file, 6)),
        "gz" => Box::new(flate2::write::GzEncoder::new(
            file,
            flate2::Compression::default(),
        )),
        "bz2" => Box::new(bzip2::write::BzEncoder::new(file, bzip2::Compression::default())),
        _ => unreachable!(),
    };
    let mut tar = tar::Builder::new(writer);
    tar.follow_symlinks(false);
    tar.append_dir_all("sosreport-vm-2026-12-07-oravuuy", dir)
        .unwrap();
    // Members osdoctor does not read are not extracted (an environment file, a big log).
    let mut h = tar::Header::new_gnu();
    let secret = b"SECRET=1\n";
    h.set_size(secret.len() as u64);
    h.set_mode(0o600);
    h.set_cksum();
    tar.append_data(&mut h, "sosreport-vm-2026-12-07-oravuuy/environment", &secret[..])
        .unwrap();
    tar.into_inner().unwrap().flush().unwrap();
}

#[test]
fn its_archives_give_the_same_report() {
    let dir = fixture(SOS);
    let (_, from_dir) = check_json(&["--root", dir.to_str().unwrap()]);
    let tmp = tempfile::tempdir().unwrap();
    for (kind, name) in [
        ("xz", "sosreport-vm.tar.xz"),
        ("gz", "sosreport-vm.tar.gz"),
        ("bz2", "sosreport-vm.tar.bz2"),
    ] {
        let archive: PathBuf = tmp.path().join(name);
        pack(&dir, &archive, kind);
        let (code, report) = check_json(&["--root", archive.to_str().unwrap()]);
        assert_eq!(code, 2, "{name}");
        assert_eq!(report["host"]["source"], "sosreport", "{name}");
        assert_eq!(findings(&report), findings(&from_dir), "{name}");
        assert_eq!(
            report["coverage"]["not_evaluated"], from_dir["coverage"]["not_evaluated"],
            "{name}"
        );
        assert_eq!(induced(&report), induced(&from_dir), "{name}");
    }
}

#[test]
fn a_tree_and_a_snapshot_say_what_they_are() {
    let tree = fixture("v2-pod-systemd-containerd");
    let (_, tree) = check_json(&["--root", tree.to_str().unwrap(), "--interval", "0"]);
    assert_eq!(tree["host"]["source"], "tree");
    let (_, snap) = check_json(&["--root", fixture("healthy").to_str().unwrap()]);
    assert_eq!(snap["host"]["source"], "snapshot");
}

#[test]
fn an_archive_that_is_neither_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("other.tar.xz");
    let file = std::fs::File::create(&archive).unwrap();
    let mut tar = tar::Builder::new(liblzma::write::XzEncoder::new(file, 6));
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_cksum();
    tar.append_data(&mut h, "x/hello", &b"hi\n"[..]).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let (code, _, err) = run(osdoctor().args(["check", "--root", archive.to_str().unwrap()]));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("neither a sosreport"), "{err}");
}

#[test]
fn kernel_log_reads_its_saved_dmesg_from_the_capture_back() {
    let dir = fixture(SOS);
    let (code, out, err) = run(osdoctor().args([
        "kernel-log",
        "--root",
        dir.to_str().unwrap(),
        "--since",
        "1m",
        "--format",
        "json",
    ]));
    assert_eq!(code, 2, "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["source"], "sos_commands/kernel/dmesg");
    let kinds: Vec<(&str, i64)> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["pid"].as_i64().unwrap_or(0)))
        .collect();
    assert_eq!(kinds, vec![("oom_kill", 22014)]);
    assert_eq!(r["events"][0]["comm"], "loadgen");
    assert_eq!(r["events"][0]["oom_memcg"], "/osd-sos");
}

#[test]
fn an_archive_cannot_write_outside_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let victim = outside.join("victim");
    std::fs::write(&victim, "untouched\n").unwrap();
    let archive = tmp.path().join("hostile.tar.gz");
    let file = std::fs::File::create(&archive).unwrap();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    let top = "sosreport-h-1";
    let add_file = |tar: &mut tar::Builder<_>, name: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("{top}/{name}"), data).unwrap();
    };
    let add_link = |tar: &mut tar::Builder<_>, name: &str, target: &Path| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        tar.append_link(&mut h, format!("{top}/{name}"), target).unwrap();
    };
    add_file(&mut tar, "version.txt", b"sosreport: 4.0\n");
    add_file(&mut tar, "sos_reports/manifest.json", b"{}\n");
    // A directory the archive links out of the tree, then a file "inside" it.
    add_link(&mut tar, "sos_commands/process", &outside);
    add_file(
        &mut tar,
        "sos_commands/process/ps_pwned",
        b"written through a link\n",
    );
    // A wanted file's name linked to a file outside, then the file itself.
    add_link(&mut tar, "sos_commands/kernel/dmesg", &victim);
    add_file(
        &mut tar,
        "sos_commands/kernel/dmesg",
        b"[    1.000000] Linux version 6.1\n",
    );
    tar.into_inner().unwrap().finish().unwrap();

    let (code, _, err) = run(osdoctor().args(["check", "--root", archive.to_str().unwrap()]));
    assert!((0..=3).contains(&code), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched\n");
    assert!(!outside.join("ps_pwned").exists());
}

#[test]
fn a_date_that_does_not_parse_falls_back_to_the_files_times() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("sos");
    let status = std::process::Command::new("cp")
        .args(["-a", fixture(SOS).to_str().unwrap(), copy.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        copy.join("sos_commands/date/date_--utc"),
        "Mon Dec  7 99:99:99 UTC 999999\n",
    )
    .unwrap();
    let (code, report) = check_json(&["--root", copy.to_str().unwrap()]);
    assert_ne!(code, 3, "{report:#}");
    assert_eq!(report["host"]["source"], "sosreport");
    let notes = report["coverage"]["notes"].to_string();
    assert!(notes.contains("the modification time of"), "{notes}");
}

/// One member of a generated archive: a path (with `..`, absolute or odd parts), and either data or
/// a symbolic link's target.
#[derive(Debug, Clone)]
enum Member {
    File(String, Vec<u8>),
    Link(String, String),
}

fn member() -> impl proptest::strategy::Strategy<Value = Member> {
    use proptest::prelude::*;
    let part = prop_oneof![
        Just("sos_commands".to_string()),
        Just("process".to_string()),
        Just("kernel".to_string()),
        Just("dmesg".to_string()),
        Just("ps_alxwww".to_string()),
        Just("date".to_string()),
        Just("date_--utc".to_string()),
        Just("proc".to_string()),
        Just("meminfo".to_string()),
        Just("..".to_string()),
        Just(".".to_string()),
        Just("version.txt".to_string()),
        "[a-z]{1,6}".prop_map(|s| s),
    ];
    let path = prop::collection::vec(part, 1..6).prop_map(|p| format!("sosreport-h-1/{}", p.join("/")));
    let target = prop_oneof![
        Just("/etc/passwd".to_string()),
        Just("../../../../tmp".to_string()),
        Just(".".to_string()),
        Just("dmesg".to_string()),
        Just("OUTSIDE".to_string()),
    ];
    prop_oneof![
        (path.clone(), prop::collection::vec(any::<u8>(), 0..200)).prop_map(|(p, d)| Member::File(p, d)),
        (path, target).prop_map(|(p, t)| Member::Link(p, t)),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 10, ..Default::default() })]

    /// Whatever an archive holds, a check of it gives a report and writes nothing outside its own
    /// temporary directory.
    #[test]
    fn generated_archives_give_a_report_and_write_nothing_outside(members in proptest::collection::vec(member(), 1..24)) {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let archive = tmp.path().join("gen.tar.gz");
        let file = std::fs::File::create(&archive).unwrap();
        let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast()));
        // The markers, so most archives are taken for sosreports.
        for (name, data) in [
            ("sosreport-h-1/version.txt", &b"sosreport: 4.0\n"[..]),
            ("sosreport-h-1/sos_commands/date/date_--utc", &b"Mon Dec  7 10:00:00 UTC 2026\n"[..]),
            ("sosreport-h-1/sos_commands/kernel/dmesg", &b"[    1.000000] Out of memory: Killed process 42 (x) total-vm:1kB, anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n"[..]),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, data).unwrap();
        }
        for m in &members {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            // Raw names: tar::Builder refuses `..`, an archive made by hand does not.
            let (name, data, link): (&str, &[u8], Option<String>) = match m {
                Member::File(p, d) => (p, d, None),
                Member::Link(p, t) => (p, &[], Some(if t == "OUTSIDE" { outside.display().to_string() } else { t.clone() })),
            };
            if h.as_gnu_mut().unwrap().name.len() < name.len() {
                continue;
            }
            h.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            match link {
                Some(t) if t.len() <= 100 => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.as_gnu_mut().unwrap().linkname[..t.len()].copy_from_slice(t.as_bytes());
                    h.set_size(0);
                }
                Some(_) => continue,
                None => h.set_size(data.len() as u64),
            }
            h.set_cksum();
            tar.append(&h, data).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap();
        let (code, _, err) = run(osdoctor().args(["check", "--interval", "0", "--root", archive.to_str().unwrap()]));
        proptest::prop_assert!((0..=3).contains(&code), "{err}");
        proptest::prop_assert!(!err.contains("panicked"), "{err}");
        // Taken for a sosreport (exit 3 only for an empty one: no data to judge), never refused.
        proptest::prop_assert!(!err.contains("not a usable sosreport"), "{err}");
        let written: Vec<_> = std::fs::read_dir(&outside).unwrap().collect();
        proptest::prop_assert!(written.is_empty(), "{written:?}");
    }
}
