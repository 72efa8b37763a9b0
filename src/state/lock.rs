//! One writer at a time: an exclusive `flock` on a sidecar `FILE.lock`, held from loading the state
//! to saving it. The state file itself is replaced by rename (a new inode every save), so the lock
//! cannot live on it. The kernel drops the lock when its holder dies, SIGKILL included.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{FlockOperation, flock};

/// How long a run waits for another run holding the lock before it goes on without updating the
/// state. A run holds the lock only while it judges and saves (the samples are taken before), a few
/// milliseconds to a few hundred on a loaded host.
pub const WAIT: Duration = Duration::from_secs(2);

/// The lock, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

/// `FILE.lock` beside `FILE`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// What trying to lock gave.
#[derive(Debug)]
pub enum Locked {
    Held(StateLock),
    /// Another run held it for all of `wait`.
    Busy,
    /// The lock file could not be opened (a read-only directory): the reason.
    Failed(String),
}

/// Take the exclusive lock of `state`, waiting up to `wait`.
pub fn acquire(state: &Path, wait: Duration) -> Locked {
    let path = lock_path(state);
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
    {
        Ok(f) => f,
        Err(e) => return Locked::Failed(format!("{}: {e}", path.display())),
    };
    let until = Instant::now() + wait;
    loop {
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Locked::Held(StateLock { _file: file }),
            Err(rustix::io::Errno::WOULDBLOCK) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Locked::Failed(format!("flock {}: {e}", path.display())),
        }
        if Instant::now() >= until {
            return Locked::Busy;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_locker_waits_then_gives_up_and_gets_it_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state.json");
        let Locked::Held(first) = acquire(&state, WAIT) else {
            panic!("first lock")
        };
        let started = Instant::now();
        assert!(matches!(
            acquire(&state, Duration::from_millis(100)),
            Locked::Busy
        ));
        assert!(started.elapsed() >= Duration::from_millis(100));
        drop(first);
        assert!(matches!(acquire(&state, WAIT), Locked::Held(_)));
        assert!(matches!(
            acquire(&dir.path().join("no/such/dir/state.json"), WAIT),
            Locked::Failed(_)
        ));
    }
}
