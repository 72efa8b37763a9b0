//! Load generator for osdoctor's live tests, fixtures and benchmarks: it induces real conditions on the
//! kernel so osdoctor can be checked against them. Every mode stops by itself after --secs.
//!
//! ```text
//! loadgen spin N [--secs S]        N busy-loop threads (CPU saturation, run-queue growth)
//! loadgen pingpong PAIRS [--secs S] PAIRS thread pairs bouncing one byte over pipes (context-switch storm)
//! loadgen hog MIB [--secs S]       allocate and touch MIB MiB, then keep touching it (memory pressure, swap)
//! ```
//!
//! It prints `ready` on stdout once the load is running.

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("");
    let count: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let secs: f64 = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    let stop = Arc::new(AtomicBool::new(false));
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut threads = Vec::new();
    match mode {
        "spin" => {
            for _ in 0..count {
                let stop = Arc::clone(&stop);
                threads.push(std::thread::spawn(move || {
                    let mut x: u64 = 0;
                    while !stop.load(Ordering::Relaxed) {
                        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                    }
                }));
            }
        }
        "pingpong" => {
            for _ in 0..count {
                let (mut a_read, mut a_write) = std::io::pipe().expect("pipe");
                let (mut b_read, mut b_write) = std::io::pipe().expect("pipe");
                let stop1 = Arc::clone(&stop);
                threads.push(std::thread::spawn(move || {
                    let mut byte = [0u8; 1];
                    while !stop1.load(Ordering::Relaxed) {
                        if a_write.write_all(&byte).is_err() || b_read.read_exact(&mut byte).is_err() {
                            break;
                        }
                    }
                }));
                threads.push(std::thread::spawn(move || {
                    let mut byte = [0u8; 1];
                    loop {
                        if a_read.read_exact(&mut byte).is_err() || b_write.write_all(&byte).is_err() {
                            break;
                        }
                    }
                }));
            }
        }
        "hog" => {
            let stop = Arc::clone(&stop);
            threads.push(std::thread::spawn(move || {
                let mut mem = vec![0u8; count << 20];
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    // Touch one byte per page, round and round: the whole set stays hot.
                    mem[i] = mem[i].wrapping_add(1);
                    i = (i + 4096) % mem.len().max(1);
                }
            }));
        }
        _ => {
            eprintln!("usage: loadgen spin N | pingpong PAIRS | hog MIB  [--secs S]");
            std::process::exit(2);
        }
    }
    println!("ready");
    let _ = std::io::stdout().flush();
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    // Ping-pong partners blocked in read() end when the process exits.
    std::process::exit(0);
}
