//! osdoctor run inside the container it diagnoses: the built binary and the libraries it links,
//! copied into podman.rs's busybox root, run by `podman exec` in a container started with
//! `--cgroupns private --cpus 0.5 --memory 96m`, four spinning threads (`ctrhog spin 4`) and 60 MiB
//! held in a tmpfs file (its /dev/shm, charged to its memory cgroup); then a snapshot taken inside,
//! replayed outside. Skipped, saying why, where podman cannot run.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::podman::{Podman, podman};
use crate::util::*;

/// Copy the osdoctor binary and the shared libraries `ldd` lists into the container's root; the
/// reason when that cannot be done.
fn add_osdoctor(p: &Podman) -> Result<(), String> {
    let exe = Path::new(env!("CARGO_BIN_EXE_osdoctor"));
    let root = p.rootfs.path();
    std::fs::copy(exe, root.join("bin/osdoctor")).map_err(|e| format!("copy osdoctor: {e}"))?;
    let out = Command::new("ldd")
        .arg(exe)
        .output()
        .map_err(|e| format!("no ldd to list osdoctor's libraries: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // A static binary: "not a dynamic executable" (on stderr), nothing to copy.
    for lib in text.split_whitespace().filter(|w| w.starts_with('/')) {
        let to = root.join(lib.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().expect("a library's directory"))
            .map_err(|e| format!("mkdir for {lib}: {e}"))?;
        std::fs::copy(lib, &to).map_err(|e| format!("copy {lib}: {e}"))?;
    }
    Ok(())
}

#[test]
fn podman_osdoctor_inside_judges_its_own_cgroup_and_states_its_limits() {
    let Some(p) = podman() else { return };
    if let Err(why) = add_osdoctor(&p) {
        eprintln!("skipped podman test: {why}");
        return;
    }
    let _lock = machine_lock();
    let c = p.run(
        "inside",
        &["--cgroupns", "private", "--cpus", "0.5", "--memory", "96m"],
        &[
            "/bin/sh",
            "-c",
            "/bin/busybox dd if=/dev/zero of=/dev/shm/held bs=1M count=60 2>/dev/null; exec /bin/ctrhog spin 4",
        ],
    );
    std::thread::sleep(Duration::from_millis(1000));
    let exec = |args: &[&str]| {
        let mut cmd = p.cmd();
        cmd.args(["exec", &c.name, "/bin/osdoctor"]).args(args);
        run(&mut cmd)
    };
    let (code, out, err) = exec(&["check", "--interval", "2", "--format", "json"]);
    let r: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("osdoctor inside (exit {code}): not JSON ({e}): {out}\n{err}"));
    assert_eq!(r["schema_version"], 9);
    let ctr = &r["host"]["container"];
    assert_eq!(ctr["runtime"], "podman", "{ctr:#}");
    assert_eq!(ctr["memory_limit_bytes"], 100_663_296u64, "{ctr:#}");
    assert_eq!(ctr["cpu_limit"], 0.5, "{ctr:#}");
    assert_eq!(ctr["cgroup"], "/", "{ctr:#}");
    assert!(
        ctr["signs"].as_array().is_some_and(|s| s
            .iter()
            .any(|s| s.as_str().is_some_and(|s| s.starts_with("cgroup namespace")))),
        "{ctr:#}"
    );
    let throttled: Vec<&Value> = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "cgroup.cpu_throttled")
        .collect();
    assert!(
        throttled.iter().any(|f| f["subject"]["cgroup"] == "/"),
        "no cgroup.cpu_throttled on its own cgroup: {:#}",
        r["findings"]
    );
    let f = throttled
        .iter()
        .find(|f| f["subject"]["cgroup"] == "/")
        .expect("own");
    assert_eq!(evidence(f, "cgroup.cpu.quota_cores"), 0.5, "{f:#}");
    assert_eq!(code, 2, "{out}");
    // CPU use judged against the quota, not the host's 2 CPUs, named by the container's cgroup and
    // told as the quota's effect.
    let util = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "cpu.utilization")
        .unwrap_or_else(|| panic!("no cpu.utilization on the container: {:#}", r["findings"]));
    assert_eq!(util["subject"]["kind"], "host", "{util:#}");
    assert_eq!(util["subject"]["cgroup"], "/", "{util:#}");
    assert_eq!(evidence(util, "container.cpus"), 0.5, "{util:#}");
    let used = evidence(util, "container.cpu.busy_ratio");
    assert!((0.9..=1.05).contains(&used), "{util:#}");
    // Its four spinning threads, all runnable (throttled tasks stay in state R), on half a CPU,
    // which counts as one whole CPU: osdoctor's own process is not counted.
    let rq = finding(&r, "cpu.runqueue").expect("cpu.runqueue");
    assert_eq!(rq["severity"], "critical", "{rq:#}");
    assert_eq!(
        (
            evidence(rq, "container.cpu.procs_running"),
            evidence(rq, "container.cpu.runnable_per_cpu")
        ),
        (4.0, 4.0),
        "{rq:#}"
    );
    let story = r["diagnoses"]
        .as_array()
        .expect("diagnoses")
        .iter()
        .find(|d| d["cause"]["rule"] == "cgroup.cpu_throttled")
        .expect("the quota's story");
    let effects: Vec<&str> = story["effects"]
        .as_array()
        .expect("effects")
        .iter()
        .filter_map(|e| e["rule"].as_str())
        .collect();
    assert!(effects.contains(&"cpu.utilization"), "{story:#}");
    // What it judges, and what it cannot see from inside.
    let notes = notes(&r);
    assert!(
        notes.iter().any(|n| n.contains("its own cgroup \"/\" is judged"))
            && notes.contains(&format!(
                "from inside, other containers' cgroups are not seen: on the node run `osdoctor cgroup {}`",
                &c.id[..12]
            ).as_str()),
        "{notes:#?}"
    );

    // The header says where it runs and what the container may use.
    let (_, text, err) = exec(&["check", "--interval", "1"]);
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.contains(&format!("container podman {}", &c.id[..12]))
            && header.contains("limits 0.5 CPU, 96 MiB"),
        "{header}\n{err}"
    );

    // A snapshot taken inside replays as the same container, its own cgroup judged.
    let (code, _, err) = exec(&["snapshot", "--interval", "1", "-o", "/tmp/snap"]);
    assert_eq!(code, 0, "snapshot inside: {err}");
    let out_dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = run(p
        .cmd()
        .args(["cp", &format!("{}:/tmp/snap", c.name)])
        .arg(out_dir.path()));
    assert_eq!(code, 0, "podman cp: {err}");
    let snap = out_dir.path().join("snap");
    let (_, replayed) = check_json(&["--root", snap.to_str().expect("utf-8 path")]);
    let ctr = &replayed["host"]["container"];
    assert_eq!(
        (&ctr["runtime"], &ctr["cgroup"], &ctr["cpu_limit"]),
        (&Value::from("podman"), &Value::from("/"), &Value::from(0.5)),
        "{ctr:#}"
    );
    assert!(
        replayed["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "cgroup.cpu_throttled" && f["subject"]["cgroup"] == "/"),
        "replay: {:#}",
        replayed["findings"]
    );
}
