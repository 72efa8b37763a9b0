//! Load generator for osdoctor's live tests, fixtures and benchmarks: it induces real conditions on the
//! kernel so osdoctor can be checked against them. Every mode stops by itself after --secs.
//!
//! ```text
//! loadgen spin N [--secs S]        N busy-loop threads (CPU saturation, run-queue growth)
//! loadgen pingpong PAIRS [--secs S] PAIRS thread pairs bouncing one byte over pipes (context-switch storm)
//! loadgen hog MIB [--secs S]       allocate and touch MIB MiB, then keep touching it (memory pressure, swap)
//! loadgen hog MIB --once [--secs S] touch MIB MiB once, then leave it alone (cold memory: full but idle swap)
//! loadgen commit MIB [--secs S]    commit MIB MiB of private memory without touching it (Committed_AS grows,
//!                                  RSS does not)
//! loadgen threads N [--busy US] [--secs S]  N idle threads (a thread leak: the task count grows);
//!                                  with --busy each works US microseconds every 10 ms (a pool grown
//!                                  past the CPUs: the threads contend for them)
//! loadgen reread FILE [--secs S]   read FILE from start to end, again and again (page-cache reuse)
//! loadgen mapread FILE [--secs S]  map FILE and touch one byte per page, round and round: a page the
//!                                  kernel evicted comes back by a major fault (file refaults; no
//!                                  readahead: MADV_RANDOM)
//! loadgen dwrite N PATH [--secs S] N threads each rewriting its own 256 MiB file PATH.I with 1 MiB
//!                                  O_DIRECT writes, round and round (storage saturation, iowait);
//!                                  the files are removed at the end
//! loadgen fds N [--nofile L] [--kind K] [--secs S]  hold N open fds under a soft RLIMIT_NOFILE of L;
//!                                  stops opening at the first refusal (EMFILE, or ENFILE at fs.file-max)
//!                                  and holds what it has. K is what they are: `null` (the default,
//!                                  /dev/null), `pipe` (N/2 pipe pairs, both ends held) or
//!                                  `file --path P` (the regular file P, which must exist, opened N times)
//! loadgen leak N [--nofile L] [--secs S]    open N more fds (/dev/null) for every line read on stdin,
//!                                  answering `opened TOTAL` (an fd leak a test paces; N 0 stays flat)
//! loadgen zombies N [--secs S]     fork N children that exit at once and are never reaped
//! loadgen listen [--nofile L] [--secs S]     listen on a TCP port of 127.0.0.1 under a soft RLIMIT_NOFILE of L
//! loadgen close-wait N --peer close|keep [--nofile L] [--secs S]
//!                                  open N TCP connections to a listener on 127.0.0.1 (an ephemeral port)
//!                                  in a child process, and hold them under a soft RLIMIT_NOFILE of L.
//!                                  With `--peer close` the child closes each connection it accepts: the
//!                                  N sockets of this process are in CLOSE_WAIT (a connection leak);
//!                                  with `--peer keep` it holds them: N ESTABLISHED (a healthy pool)
//! loadgen idle N [--threads T] [--fds F] [--secs S]
//!                                  N idle child processes, each with T threads and F open fds (benchmarks)
//! ```
//!
//! `fds`, `listen` and `zombies` print `ready PID` (and `listen` the port: `ready PID PORT`;
//! `close-wait` the port and its listener's pid: `ready PID PORT LISTENER_PID`). Children of `idle`,
//! `close-wait` and `zombies` die with the parent (PR_SET_PDEATHSIG).
//!
//! It prints `ready` on stdout once the load is running (for `hog`, once every page has been touched).

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map(String::as_str).unwrap_or("");
    let count: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let once = args.iter().any(|a| a == "--once");
    let secs: f64 = args
        .iter()
        .position(|a| a == "--secs")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(30.0);
    let flag = |name: &str| -> Option<u64> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|s| s.parse().ok())
    };
    let word = |name: &str| -> Option<&str> {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map(String::as_str)
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut hold: Vec<Box<dyn std::any::Any>> = Vec::new();
    let mut ready = "ready".to_string();
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut threads = Vec::new();
    // A mode that needs time to build its load up sends here once it has (`ready` waits for it).
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
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
            let ready = ready_tx.clone();
            threads.push(std::thread::spawn(move || {
                let mut mem = vec![0u8; count << 20];
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    // Touch one byte per page, round and round: the whole set stays hot.
                    mem[i] = mem[i].wrapping_add(1);
                    i = (i + 4096) % mem.len().max(1);
                    if i == 0 {
                        // Every page has been touched: the whole MIB is allocated (resident or swapped).
                        let _ = ready.send(());
                    }
                    if once && i == 0 {
                        // Every page touched once: from now on the memory is cold.
                        break;
                    }
                }
                // Keep the memory until the process exits.
                std::mem::forget(mem);
            }));
        }
        "commit" => {
            // A private writable allocation is charged to Committed_AS when mapped; pages are only
            // allocated when touched, and nothing touches them.
            let reserved: Vec<u8> = Vec::with_capacity(count << 20);
            std::mem::forget(std::hint::black_box(reserved));
        }
        "threads" => {
            let (work, rest) = match flag("--busy") {
                Some(us) => (Duration::from_micros(us), Duration::from_millis(10)),
                None => (Duration::ZERO, Duration::from_millis(200)),
            };
            for _ in 0..count {
                let stop = Arc::clone(&stop);
                let t = std::thread::Builder::new()
                    .stack_size(64 << 10)
                    .spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            let began = Instant::now();
                            while began.elapsed() < work {
                                std::hint::spin_loop();
                            }
                            std::thread::sleep(rest);
                        }
                    })
                    .expect("spawn thread");
                threads.push(t);
            }
        }
        "fds" => {
            if let Some(l) = flag("--nofile") {
                lower_nofile(l);
            }
            let kind = word("--kind").unwrap_or("null");
            let path = match kind {
                "null" => "/dev/null",
                "file" => word("--path").unwrap_or_else(|| {
                    eprintln!("loadgen fds --kind file needs --path PATH");
                    std::process::exit(2);
                }),
                "pipe" => "",
                _ => {
                    eprintln!("loadgen fds: --kind is null, pipe or file");
                    std::process::exit(2);
                }
            };
            let mut opened = 0;
            while opened < count {
                let got: std::io::Result<(Box<dyn std::any::Any>, usize)> = if kind == "pipe" {
                    std::io::pipe().map(|p| (Box::new(p) as Box<dyn std::any::Any>, 2))
                } else {
                    std::fs::File::open(path).map(|f| (Box::new(f) as Box<dyn std::any::Any>, 1))
                };
                match got {
                    Ok((f, n)) => {
                        hold.push(f);
                        opened += n;
                    }
                    Err(e) => {
                        // The leak hits a limit: hold what it has, as a leaking server would.
                        eprintln!("loadgen fds: open refused after {opened}: {e}");
                        break;
                    }
                }
            }
            ready = format!("ready {}", std::process::id());
        }
        "leak" => {
            if let Some(l) = flag("--nofile") {
                lower_nofile(l);
            }
            threads.push(std::thread::spawn(move || {
                let mut held = Vec::new();
                for line in std::io::stdin().lines() {
                    if line.is_err() {
                        break;
                    }
                    for _ in 0..count {
                        match std::fs::File::open("/dev/null") {
                            Ok(f) => held.push(f),
                            Err(e) => eprintln!("loadgen leak: open refused: {e}"),
                        }
                    }
                    println!("opened {}", held.len());
                    let _ = std::io::stdout().flush();
                }
            }));
            ready = format!("ready {}", std::process::id());
        }
        "listen" => {
            if let Some(l) = flag("--nofile") {
                lower_nofile(l);
            }
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            let port = l.local_addr().expect("local addr").port();
            hold.push(Box::new(l));
            ready = format!("ready {} {port}", std::process::id());
        }
        "close-wait" => {
            let peer = word("--peer").unwrap_or("close");
            if !matches!(peer, "close" | "keep") {
                eprintln!("loadgen close-wait: --peer is close or keep");
                std::process::exit(2);
            }
            if let Some(l) = flag("--nofile") {
                lower_nofile(l);
            }
            // The listener is another process: accepted sockets held here would be this process's
            // descriptors too.
            let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
                .args(["close-wait-peer", &count.to_string(), peer])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn listener");
            let mut from_child = std::io::BufReader::new(child.stdout.take().expect("stdout"));
            let mut line = String::new();
            std::io::BufRead::read_line(&mut from_child, &mut line).expect("listener's port");
            let port: u16 = line.trim().parse().expect("listener's port");
            let mut conns = Vec::new();
            for _ in 0..count {
                conns.push(std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect"));
            }
            // Every connection accepted (and closed, or held) by the listener.
            line.clear();
            std::io::BufRead::read_line(&mut from_child, &mut line).expect("listener done");
            if peer == "close" {
                // The peer's FIN has arrived once read() sees the end: the socket is in CLOSE_WAIT.
                for c in &mut conns {
                    let mut buf = [0u8; 16];
                    while c.read(&mut buf).expect("read") > 0 {}
                }
            }
            ready = format!("ready {} {port} {}", std::process::id(), child.id());
            hold.push(Box::new(conns));
            hold.push(Box::new(child));
        }
        "close-wait-peer" => close_wait_peer(count, args.get(2).is_some_and(|p| p == "keep")),
        "zombies" => {
            let exe = std::env::current_exe().expect("own path");
            for _ in 0..count {
                let child = std::process::Command::new(&exe)
                    .arg("exit")
                    .spawn()
                    .expect("spawn child");
                // Never waited for: each becomes a zombie once it exits.
                std::mem::forget(child);
            }
            std::thread::sleep(Duration::from_millis(300));
            ready = format!("ready {}", std::process::id());
        }
        "reread" => {
            let path = args.get(1).cloned().unwrap_or_default();
            let mut file = std::fs::File::open(&path).unwrap_or_else(|e| {
                eprintln!("loadgen reread {path}: {e}");
                std::process::exit(2);
            });
            let stop = Arc::clone(&stop);
            threads.push(std::thread::spawn(move || {
                use std::io::Seek;
                let mut buf = vec![0u8; 1 << 20];
                while !stop.load(Ordering::Relaxed) {
                    match file.read(&mut buf) {
                        Ok(0) => {
                            file.rewind().expect("rewind");
                        }
                        Ok(_) => {}
                        Err(e) => panic!("read {path}: {e}"),
                    }
                }
            }));
        }
        "mapread" => {
            let path = args.get(1).cloned().unwrap_or_default();
            let file = std::fs::File::open(&path).unwrap_or_else(|e| {
                eprintln!("loadgen mapread {path}: {e}");
                std::process::exit(2);
            });
            let len = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
            let addr = map_shared_read(&file, len);
            let stop = Arc::clone(&stop);
            threads.push(std::thread::spawn(move || {
                let mut sum = 0u8;
                while !stop.load(Ordering::Relaxed) {
                    for off in (0..len).step_by(4096) {
                        // SAFETY: off < len, inside the read-only mapping that lives until exit.
                        sum = sum.wrapping_add(unsafe { std::ptr::read_volatile((addr + off) as *const u8) });
                    }
                }
                std::hint::black_box(sum);
            }));
        }
        "dwrite" => {
            let path = args.get(2).cloned().unwrap_or_default();
            for t in 0..count {
                let stop = Arc::clone(&stop);
                let path = format!("{path}.{t}");
                threads.push(std::thread::spawn(move || direct_writes(&path, &stop)));
            }
        }
        "exit" => std::process::exit(0),
        "idle" => {
            let threads = flag("--threads").unwrap_or(1).to_string();
            let fds = flag("--fds").unwrap_or(0).to_string();
            let exe = std::env::current_exe().expect("own path");
            let mut children = Vec::new();
            for _ in 0..count {
                let child = std::process::Command::new(&exe)
                    .args(["idle-child", &threads, &fds])
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("spawn idle child");
                children.push(child);
            }
            // Wait until every child holds its threads and fds.
            for c in &mut children {
                let mut line = [0u8; 1];
                let _ = c.stdout.take().expect("stdout").read_exact(&mut line);
            }
            hold.push(Box::new(children));
        }
        "idle-child" => idle_child(
            count.max(1) as u64,
            args.get(2).and_then(|s| s.parse().ok()).unwrap_or(0),
        ),
        _ => {
            eprintln!(
                "usage: loadgen spin N | pingpong PAIRS | hog MIB [--once] | commit MIB | threads N [--busy US] | fds N [--nofile L] \
                 | leak N [--nofile L] | zombies N | listen [--nofile L] | close-wait N --peer close|keep [--nofile L] | idle N [--threads T] [--fds F] | reread FILE | mapread FILE | dwrite N PATH  [--secs S]"
            );
            std::process::exit(2);
        }
    }
    drop(ready_tx);
    if mode == "hog" {
        let _ = ready_rx.recv_timeout(Duration::from_secs_f64(secs));
    }
    println!("{ready}");
    let _ = std::io::stdout().flush();
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    drop(hold);
    if mode == "dwrite" {
        // Writers stop after their current write and remove their files.
        for t in threads {
            let _ = t.join();
        }
    }
    // Ping-pong partners blocked in read() end when the process exits.
    std::process::exit(0);
}

/// Lower the soft RLIMIT_NOFILE (the hard limit stays: raising needs CAP_SYS_RESOURCE).
fn lower_nofile(soft: u64) {
    let cur = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit {
            current: Some(soft),
            maximum: cur.maximum,
        },
    )
    .expect("setrlimit RLIMIT_NOFILE");
}

/// One idle process of `loadgen idle`: `threads` threads in all and `fds` open fds, sleeping until the
/// parent dies.
fn idle_child(threads: u64, fds: u64) -> ! {
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let files: Vec<std::fs::File> = (0..fds)
        .map(|_| std::fs::File::open("/dev/null").expect("open /dev/null"))
        .collect();
    for _ in 1..threads {
        std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_secs(3600));
                }
            })
            .expect("spawn thread");
    }
    let mut out = std::io::stdout();
    let _ = out.write_all(b"r").and_then(|_| out.flush());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
        let _ = &files;
    }
}

/// The listener of `loadgen close-wait`: prints its port, accepts `n` connections, closing each at once
/// or holding them (`keep`), prints `done`, and sleeps until the parent dies.
fn close_wait_peer(n: usize, keep: bool) -> ! {
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let mut out = std::io::stdout();
    let port = l.local_addr().expect("local addr").port();
    let _ = writeln!(out, "{port}").and_then(|_| out.flush());
    let mut held = Vec::new();
    for _ in 0..n {
        let (c, _) = l.accept().expect("accept");
        if keep {
            held.push(c);
        }
    }
    let _ = writeln!(out, "done").and_then(|_| out.flush());
    loop {
        std::thread::sleep(Duration::from_secs(3600));
        let _ = &held;
    }
}

/// Map `len` bytes of `file` shared and read-only; the mapping lives until the process exits.
fn map_shared_read(file: &std::fs::File, len: usize) -> usize {
    use std::os::fd::AsRawFd;
    // SAFETY: a fresh read-only shared mapping of an open file; nothing else aliases it mutably.
    let addr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    assert!(
        addr != libc::MAP_FAILED,
        "mmap: {}",
        std::io::Error::last_os_error()
    );
    // No readahead: each evicted page touched again is read back alone, by a major fault, as a
    // database's random reads are.
    // SAFETY: advice on the mapping made above.
    unsafe { libc::madvise(addr, len, libc::MADV_RANDOM) };
    addr as usize
}

/// Rewrite a 256 MiB file at `path` with 1 MiB O_DIRECT writes until `stop`, then remove it.
fn direct_writes(path: &str, stop: &AtomicBool) {
    use std::os::unix::fs::{FileExt, OpenOptionsExt};
    const BLOCK: usize = 1 << 20;
    const BLOCKS: u64 = 256;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
        .open(path)
        .unwrap_or_else(|e| panic!("open {path} with O_DIRECT: {e}"));
    // O_DIRECT needs a buffer aligned to the logical block size: 4 KiB covers every disk.
    let layout = std::alloc::Layout::from_size_align(BLOCK, 4096).expect("layout");
    // SAFETY: the layout has a non-zero size; the buffer is freed below and never escapes.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    assert!(!ptr.is_null(), "out of memory");
    // SAFETY: ptr points to BLOCK initialised (zeroed) bytes owned by this function.
    let buf = unsafe { std::slice::from_raw_parts(ptr, BLOCK) };
    let mut block = 0;
    while !stop.load(Ordering::Relaxed) {
        file.write_all_at(buf, block * BLOCK as u64)
            .unwrap_or_else(|e| panic!("write {path}: {e}"));
        block = (block + 1) % BLOCKS;
    }
    // SAFETY: allocated above with the same layout; `buf` is not used after this.
    unsafe { std::alloc::dealloc(ptr, layout) };
    let _ = std::fs::remove_file(path);
}
