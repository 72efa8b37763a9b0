//! The prometheus/procfs test fixtures (a foreign /proc and /sys, with odd, partial and deliberately
//! malformed files), unpacked at test time from ../shared/corpus: nothing in them may make detection,
//! parsing, reading or target resolution panic. Skips with a message when the corpus is absent.

use std::path::{Path, PathBuf};

use crate::collect::cgroup::*;
use crate::parse::cgroup::tests::no_panic::everything;
use crate::parse::cgroup::*;
use crate::root::Root;

/// `shared/` beside the checkout (or beside one of its parents: worktrees sit one level deeper).
fn shared_dir() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .skip(1)
        .take(3)
        .map(|p| p.join("shared"))
        .find(|p| p.join("corpus/ttar-unpack.py").is_file())
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            files_under(&entry.path(), out);
        } else if ft.is_file() {
            out.push(entry.path());
        }
    }
}

#[test]
fn prometheus_procfs_fixtures_are_tolerated() {
    let Some(shared) = shared_dir() else {
        eprintln!("skipped corpus test: no shared/corpus beside the checkout");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let status = std::process::Command::new("python3")
        .arg(shared.join("corpus/ttar-unpack.py"))
        .arg(shared.join("corpus/prometheus-procfs/fixtures.ttar"))
        .arg(tmp.path())
        .stdout(std::process::Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => {
            eprintln!("skipped corpus test: unpacking failed ({other:?})");
            return;
        }
    }
    let fixtures = tmp.path().join("fixtures");

    // Every file's text through every parser.
    let mut files = Vec::new();
    files_under(&fixtures, &mut files);
    assert!(files.len() > 100, "the corpus unpacked ({} files)", files.len());
    for f in &files {
        if let Ok(bytes) = std::fs::read(f)
            && bytes.len() <= 256 * 1024
        {
            everything(&String::from_utf8_lossy(&bytes));
        }
    }

    // Its mountinfo files have no cgroup lines (and one line with an empty field).
    for mi in files.iter().filter(|f| f.ends_with("mountinfo")) {
        let text = std::fs::read_to_string(mi).expect("mountinfo is text");
        let layout = detect_from_text(&text);
        assert_eq!(layout.mode, None, "{}", mi.display());
    }

    // The whole tree as a root: detection, reading and resolution answer without panicking.
    let root = Root::dir(&fixtures).expect("fixtures root");
    let layout = crate::collect::cgroup::layout::detect(&root);
    assert_eq!(layout.mode, None, "{layout:?}");
    assert!(!layout.problems.is_empty());
    let r = read_cgroup(&root, &layout, "/");
    assert!(!r.unreadable.is_empty());
    for target in [
        "26231",
        "/",
        "eded8c65-6e8e-4c6e-a889-3e427565c740",
        "0123456789ab",
    ] {
        let err = resolve_target(&root, &layout, target).expect_err("no cgroups in this corpus");
        assert!(matches!(err, TargetError::NoCgroupFs { .. }), "{target}: {err}");
    }
    // With a cgroup layout grafted on, the corpus's processes resolve to clear errors, not panics.
    let grafted = detect_from_text("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    for target in ["26231", "584", "1", "eded8c65-6e8e-4c6e-a889-3e427565c740", "/"] {
        let _ = resolve_target(&root, &grafted, target);
    }
}
