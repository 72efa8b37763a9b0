//! Small helpers shared by the integration tests.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

/// The osdoctor binary cargo built for these tests.
pub fn osdoctor() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_osdoctor"));
    c.env_remove("NO_COLOR");
    c
}

/// The repository's top directory.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture directory by name.
pub fn fixture(name: &str) -> PathBuf {
    repo().join("fixtures").join(name)
}

/// The load generator (examples/loadgen.rs), built by `cargo test` alongside the tests.
pub fn loadgen() -> Command {
    let exe = std::env::current_exe().expect("test binary path");
    // target/<profile>/deps/integration-HASH -> target/<profile>/examples/loadgen
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    Command::new(dir.join("examples").join("loadgen"))
}

/// A running load generator, killed on drop so a failing assertion never leaves load behind, and the
/// words of the `ready` line it printed (some modes add what a test needs, such as a port).
pub struct Load {
    child: Child,
    pub words: Vec<String>,
}

impl Load {
    /// `loadgen ARGS`, once it is ready.
    pub fn start(args: &[&str]) -> Load {
        let mut cmd = loadgen();
        cmd.args(args);
        Load::spawn(cmd)
    }

    /// Run `cmd` (loadgen, or a wrapper that execs it such as [`TestCgroup::command`]) and wait for
    /// its `ready` line.
    pub fn spawn(mut cmd: Command) -> Load {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .expect("start examples/loadgen");
        let mut line = String::new();
        let read = BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let load = Load {
            child,
            words: line.split_whitespace().map(String::from).collect(),
        };
        read.expect("read loadgen's ready line");
        assert_eq!(
            load.words.first().map(String::as_str),
            Some("ready"),
            "{cmd:?}: {line:?}"
        );
        load
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A cgroup a test made, `osdoctor-it-WHAT-PID` under a hierarchy's mount: the processes still in it
/// are killed and the directory removed on drop, also when an assertion fails.
pub struct TestCgroup {
    pub dir: PathBuf,
    pub name: String,
    /// Processes started in it, killed first on drop.
    pub children: Vec<Child>,
}

impl TestCgroup {
    /// Make it; an error when this cannot (not root, no such hierarchy).
    pub fn create(mount: &Path, what: &str) -> std::io::Result<TestCgroup> {
        let name = format!("osdoctor-it-{what}-{}", std::process::id());
        let dir = mount.join(&name);
        std::fs::create_dir(&dir)?;
        Ok(TestCgroup {
            dir,
            name,
            children: Vec::new(),
        })
    }

    pub fn new(mount: &Path, what: &str) -> TestCgroup {
        TestCgroup::create(mount, what)
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", mount.join(what).display()))
    }

    pub fn set(&self, file: &str, value: &str) {
        let p = self.dir.join(file);
        std::fs::write(&p, value).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }

    /// Its path relative to the hierarchy root, as /proc/PID/cgroup and the kernel log name it.
    pub fn path(&self) -> String {
        format!("/{}", self.name)
    }

    /// `sh -c 'echo $$ > cgroup.procs; exec CMD...'`: the command starts inside the cgroup.
    pub fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(r#"echo $$ > "$0/cgroup.procs" && exec "$@""#)
            .arg(&self.dir)
            .arg(program)
            .args(args);
        c
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for _ in 0..100 {
            if let Ok(procs) = std::fs::read_to_string(self.dir.join("cgroup.procs")) {
                for pid in procs.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
                    if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                        let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                    }
                }
            }
            // The cgroup empties asynchronously after its last task exits.
            if std::fs::remove_dir(&self.dir).is_ok() || !self.dir.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("could not remove {}", self.dir.display());
    }
}

/// A 64 MiB memory cgroup under `mount` (a v1 memory hierarchy or cgroup2), swap included: there is
/// no swap to escape to.
pub fn oom_cgroup(mount: &Path, what: &str) -> std::io::Result<TestCgroup> {
    let cg = TestCgroup::create(mount, what)?;
    let limit = (64u64 << 20).to_string();
    let (memory, swap) = if cg.dir.join("memory.limit_in_bytes").exists() {
        ("memory.limit_in_bytes", "memory.memsw.limit_in_bytes")
    } else {
        ("memory.max", "memory.swap.max")
    };
    cg.set(memory, &limit);
    if cg.dir.join(swap).exists() {
        cg.set(swap, &limit);
    }
    Ok(cg)
}

/// Allocate and touch 256 MiB inside the cgroup; returns once the process is gone (OOM-killed).
pub fn allocate_256_mib(cg: &TestCgroup) {
    let status = cg
        .command(
            Path::new(loadgen().get_program()),
            &["hog", "256", "--secs", "20"],
        )
        .stdout(Stdio::null())
        .status()
        .expect("run loadgen hog");
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "expected an OOM kill (SIGKILL), got {status}"
    );
}

/// Run and return (exit code, stdout, stderr).
pub fn run(cmd: &mut Command) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run command");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `osdoctor check ARGS --format json`, parsed; returns (exit code, report).
pub fn check_json(args: &[&str]) -> (i32, Value) {
    let (code, out, err) = run(osdoctor().arg("check").args(args).args(["--format", "json"]));
    let report: Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}\nstderr: {err}"));
    (code, report)
}

/// (rule, subject kind, severity) of every finding, sorted.
pub fn findings(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["subject"]["kind"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The finding of a rule, if there is exactly one.
pub fn finding<'a>(report: &'a Value, rule: &str) -> Option<&'a Value> {
    let all: Vec<&Value> = report["findings"]
        .as_array()?
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect();
    assert!(all.len() <= 1, "{rule} found {} times", all.len());
    all.into_iter().next()
}

/// A report's coverage notes.
pub fn notes(report: &Value) -> Vec<&str> {
    report["coverage"]["notes"]
        .as_array()
        .expect("coverage.notes")
        .iter()
        .filter_map(Value::as_str)
        .collect()
}

/// An evidence value of a finding.
pub fn evidence(f: &Value, fact: &str) -> f64 {
    f["evidence"][fact]["value"]
        .as_f64()
        .unwrap_or_else(|| panic!("no evidence {fact} in {f}"))
}

/// Tests that load the machine or need it quiet take this lock so they never overlap.
pub fn machine_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// `promtool check metrics` on a Prometheus text: `Some(problems)`, empty when promtool finds
/// nothing to say; `None` when promtool is not installed (`apt-get install prometheus`), the reason
/// printed so that a skipped check shows in `cargo test -- --nocapture`.
pub fn promtool_check(text: &str) -> Option<String> {
    use std::io::Write;
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            println!(
                "skipping promtool check metrics: promtool not runnable ({e}); apt-get install prometheus"
            );
            return None;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("wait for promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(if out.status.success() && said.trim().is_empty() {
        String::new()
    } else {
        format!("{}: {said}", out.status)
    })
}

/// The Prometheus text is clean for `promtool check metrics` (when installed) and holds no series
/// twice (which promtool does not check, and node_exporter's textfile collector refuses).
pub fn assert_clean_prometheus(what: &str, text: &str) {
    let mut series: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.rsplit_once(' ').map_or(l, |(s, _)| s))
        .collect();
    series.sort();
    let n = series.len();
    series.dedup();
    assert_eq!(series.len(), n, "{what}: a series appears twice:\n{text}");
    if let Some(problems) = promtool_check(text) {
        assert!(
            problems.is_empty(),
            "{what}: promtool check metrics: {problems}\n{text}"
        );
    }
}

/// The value of an unlabelled series (`osdoctor_status 2`).
pub fn series_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// `osdoctor check --root fixtures/NAME --format json`.
pub fn replay(name: &str) -> (i32, Value) {
    check_json(&["--root", fixture(name).to_str().unwrap()])
}

/// The findings of `rule`, as (its subject's path, device or command, severity), sorted.
pub fn findings_of(report: &Value, rule: &str) -> Vec<(String, String)> {
    let mut v: Vec<_> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            let s = &f["subject"];
            let who = s["path"]
                .as_str()
                .or(s["device"].as_str())
                .or(s["comm"].as_str())
                .unwrap_or("?");
            (who.to_string(), f["severity"].as_str().unwrap().to_string())
        })
        .collect();
    v.sort();
    v
}
