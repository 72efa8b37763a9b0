//! Tests of reading cgroups: on trees built in temporary directories, on the live kernel (as root),
//! and on a foreign corpus. Test data lives in
//! `tests/data/cgroupfs/` (see its README for which files are real).

mod corpus;
mod live;
mod pod_trees;
mod read_trees;
mod selection;

pub(crate) use crate::parse::cgroup::tests::{data, data_path};
use crate::root::Root;

/// A directory tree standing for `/`, built file by file.
pub(crate) struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    pub(crate) fn new() -> Tree {
        Tree {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// Write `text` at `path` (absolute inside the tree), creating parents.
    pub(crate) fn file(&self, path: &str, text: &str) -> &Tree {
        let p = self.dir.path().join(path.trim_start_matches('/'));
        std::fs::create_dir_all(p.parent().expect("a file has a parent")).expect("mkdir");
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        self
    }

    /// An empty directory (a cgroup whose files do not matter to the test).
    pub(crate) fn dir(&self, path: &str) -> &Tree {
        std::fs::create_dir_all(self.dir.path().join(path.trim_start_matches('/'))).expect("mkdir");
        self
    }

    /// Copy every file of the test data directory `from` into `to`.
    pub(crate) fn copy(&self, from: &str, to: &str) -> &Tree {
        let src = data_path(from);
        let entries = std::fs::read_dir(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        for entry in entries {
            let entry = entry.expect("dir entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(entry.path()).expect("test data is text");
            self.file(&format!("{to}/{name}"), &text);
        }
        self
    }

    pub(crate) fn root(&self) -> Root {
        Root::dir(self.dir.path()).expect("tree root")
    }
}
