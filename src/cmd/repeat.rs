//! `check --every`: run, wait, run again until SIGTERM or SIGINT. The signal only sets a flag
//! (signal-hook: the handler does nothing but an atomic store); the loop reads it between runs and
//! while it waits, in short slices, so a stop is honoured within a tenth of a second when idle and
//! right after the report of a run in progress is written. A second signal ends the process at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGINT, SIGTERM};

/// Exit code of a second signal, which does not wait for the run in progress: UNKNOWN, the
/// report was not written.
const EXIT_FORCED: i32 = 3;

/// How often a wait looks at the flag.
const SLICE: Duration = Duration::from_millis(100);

pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Handle SIGTERM and SIGINT from now on: the first asks to stop, the second ends the process.
    pub fn install() -> anyhow::Result<Stop> {
        let flag = Arc::new(AtomicBool::new(false));
        for sig in [SIGTERM, SIGINT] {
            // The shutdown goes first: it only fires once the flag is already set.
            signal_hook::flag::register_conditional_shutdown(sig, EXIT_FORCED, Arc::clone(&flag))?;
            signal_hook::flag::register(sig, Arc::clone(&flag))?;
        }
        Ok(Stop(flag))
    }

    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Wait until `deadline` or a stop; true when a stop was asked for.
    pub fn wait_until(&self, deadline: Instant) -> bool {
        loop {
            if self.requested() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            std::thread::sleep(SLICE.min(deadline - now));
        }
    }
}
