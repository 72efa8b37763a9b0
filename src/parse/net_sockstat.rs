//! `/proc/net/sockstat`, `/proc/sys/net/ipv4/tcp_mem` and `/proc/net/softnet_stat`: the socket
//! counts and memory of the TCP stack, and the per-CPU receive backlog counters.
//!
//! sockstat (net/ipv4/proc.c, sockstat_seq_show):
//!
//! ```text
//! sockets: used 11
//! TCP: inuse 1 orphan 0 tw 0 alloc 1 mem 109
//! UDP: inuse 0 mem 0
//! ```
//!
//! TCP `mem` is `tcp_memory_allocated` in pages, the quantity the kernel compares with tcp_mem's three
//! values ("min pressure max", in pages; Documentation/networking/ip-sysctl.rst): "pressure: when
//! amount of memory allocated by TCP exceeds this number of pages, TCP moderates its memory
//! consumption"; at max new sockets and data are refused. The memory, tcp_mem, `orphan` and `alloc`
//! are the host's; `inuse` and `tw` are the reader's network namespace.
//!
//! softnet_stat (net/core/net-procfs.c, softnet_seq_show): one line per CPU of hexadecimal words,
//! `processed dropped time_squeeze` then zeros and newer counters (cpu_collision, received_rps,
//! flow_limit_count, and since 5.10 the backlog length and the CPU number). `dropped` counts packets
//! refused because the CPU's input backlog held net.core.netdev_max_backlog; `time_squeeze` the times
//! the receive softirq ran out of budget (netdev_budget, netdev_budget_usecs) with work left.

/// The TCP line of /proc/net/sockstat.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TcpSockstat {
    pub inuse: Option<u64>,
    pub orphan: Option<u64>,
    pub time_wait: Option<u64>,
    pub alloc: Option<u64>,
    /// Pages.
    pub mem_pages: Option<u64>,
}

/// The `TCP:` line of /proc/net/sockstat; an error when there is none.
pub fn parse_sockstat(text: &str) -> Result<TcpSockstat, String> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("TCP:"))
        .ok_or_else(|| "no TCP: line".to_string())?;
    let mut out = TcpSockstat::default();
    let words: Vec<&str> = line.split_whitespace().collect();
    for pair in words.chunks(2) {
        let [name, value] = pair else { break };
        let Ok(value) = value.parse::<u64>() else {
            return Err(format!("TCP {name}: not a number: {value:?}"));
        };
        match *name {
            "inuse" => out.inuse = Some(value),
            "orphan" => out.orphan = Some(value),
            "tw" => out.time_wait = Some(value),
            "alloc" => out.alloc = Some(value),
            "mem" => out.mem_pages = Some(value),
            _ => {}
        }
    }
    Ok(out)
}

/// `/proc/sys/net/ipv4/tcp_mem`: min, pressure, max, in pages.
pub fn parse_tcp_mem(text: &str) -> Result<[u64; 3], String> {
    let values: Vec<u64> = text
        .split_whitespace()
        .map(|w| w.parse().map_err(|_| format!("not a number: {w:?}")))
        .collect::<Result<_, _>>()?;
    <[u64; 3]>::try_from(values).map_err(|v| format!("expected 3 values, got {}", v.len()))
}

/// One CPU's line of /proc/net/softnet_stat.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SoftnetCpu {
    pub processed: u64,
    pub dropped: u64,
    pub time_squeeze: u64,
    /// The CPU the line is about: its 13th word since Linux 5.10 (older kernels print only online
    /// CPUs' lines in order, with no number).
    pub cpu: Option<u32>,
}

/// Every CPU's line; an error when a line has fewer than three words or one is not hexadecimal.
pub fn parse_softnet_stat(text: &str) -> Result<Vec<SoftnetCpu>, String> {
    let mut cpus = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut w = line.split_whitespace();
        let mut next = |what: &str| -> Result<u64, String> {
            let word = w.next().ok_or_else(|| format!("line {}: no {what}", i + 1))?;
            u64::from_str_radix(word, 16)
                .map_err(|_| format!("line {}: {what} is not hexadecimal: {word:?}", i + 1))
        };
        let processed = next("processed")?;
        let dropped = next("dropped")?;
        let time_squeeze = next("time_squeeze")?;
        let cpu = w.nth(9).and_then(|word| u32::from_str_radix(word, 16).ok());
        cpus.push(SoftnetCpu {
            processed,
            dropped,
            time_squeeze,
            cpu,
        });
    }
    if cpus.is_empty() {
        return Err("no CPU lines".to_string());
    }
    Ok(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockstat_of_this_vm() {
        // Linux 6.18, the project VM.
        let text = "sockets: used 11\nTCP: inuse 1 orphan 0 tw 3 alloc 1 mem 109\nUDP: inuse 0 mem 0\nUDPLITE: inuse 0\nRAW: inuse 0\nFRAG: inuse 0 memory 0\n";
        let s = parse_sockstat(text).unwrap();
        assert_eq!(s.mem_pages, Some(109));
        assert_eq!(s.time_wait, Some(3));
        assert_eq!(s.inuse, Some(1));
        // A network namespace's sockstat has the same shape; an older kernel may lack a word.
        let s = parse_sockstat("TCP: inuse 4 tw 2 mem 7\n").unwrap();
        assert_eq!((s.orphan, s.mem_pages), (None, Some(7)));
        assert!(parse_sockstat("UDP: inuse 0\n").is_err());
        assert!(parse_sockstat("TCP: inuse x\n").is_err());
    }

    #[test]
    fn tcp_mem_has_three_values() {
        assert_eq!(
            parse_tcp_mem("287907\t383877\t575814\n"),
            Ok([287907, 383877, 575814])
        );
        assert!(parse_tcp_mem("1 2").is_err());
        assert!(parse_tcp_mem("1 2 x").is_err());
    }

    #[test]
    fn softnet_stat_old_and_new_kernels() {
        // 6.18 (15 words: ..., backlog length, CPU number) and 4.x (11 words).
        let text = "000058fb 00000002 0000001a 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n\
                    00003010 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000001 00000000 00000001\n";
        let cpus = parse_softnet_stat(text).unwrap();
        assert_eq!(cpus.len(), 2);
        assert_eq!(
            cpus[0],
            SoftnetCpu {
                processed: 0x58fb,
                dropped: 2,
                time_squeeze: 0x1a,
                cpu: Some(0)
            }
        );
        assert_eq!(cpus[1].cpu, Some(1));
        let old = "0000a1b2 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n";
        assert_eq!(parse_softnet_stat(old).unwrap()[0].time_squeeze, 3);
        assert_eq!(parse_softnet_stat(old).unwrap()[0].cpu, None);
        assert!(parse_softnet_stat("").is_err());
        assert!(parse_softnet_stat("00000001 zz 0\n").is_err());
        assert!(parse_softnet_stat("00000001\n").is_err());
    }
}
