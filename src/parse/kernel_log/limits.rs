//! Recognisers of limits hit: SYN floods, a full conntrack table, file-max, tcp_mem and orphaned
//! sockets, forks rejected by the pids controller, and the log's own limits (ratelimited callbacks,
//! dropped printk messages).

use std::sync::LazyLock;

use regex::Regex;

use super::events::{ConntrackFull, EventKind, FileMax, ForkRejected, LostEvent, SynFlood, TcpMem};
use super::helpers::{group, number, rx};

static SYN_FLOOD: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?i)possible SYN flooding on port (\S+)\. (Sending cookies|Dropping request)"));
static CONNTRACK: LazyLock<Regex> =
    LazyLock::new(|| rx(r"(?:^|\s)([a-z_]*conntrack): table full(?: in netns ([0-9]+))?, dropping packet"));
static FILE_MAX: LazyLock<Regex> = LazyLock::new(|| rx(r"VFS: file-max limit ([0-9]+) reached"));
static ORPHANS: LazyLock<Regex> = LazyLock::new(|| rx(r"too many (?:of )?orphaned sockets"));
static FORK_REJECTED: LazyLock<Regex> =
    LazyLock::new(|| rx(r"cgroup: fork rejected by pids controller in (.+)$"));
static SUPPRESSED: LazyLock<Regex> = LazyLock::new(|| rx(r"^(.+?): ([0-9]+) callbacks suppressed$"));
static PRINTK_DROPPED: LazyLock<Regex> = LazyLock::new(|| rx(r"^\*\* ([0-9]+) printk messages dropped \*\*"));

/// The limit event a single line shows, if any; the line scanner asks the other families first.
pub(super) fn recognise(text: &str) -> Option<EventKind> {
    if text.contains("SYN flooding") {
        return SYN_FLOOD.captures(text).map(|c| {
            let before = c.get(0).map_or("", |m| &text[..m.start()]);
            let port = group(&c, 1).to_string();
            EventKind::SynFlood(SynFlood {
                ipv6: before.contains("v6") || port.starts_with('['),
                port,
                action: c
                    .get(2)
                    .map(|m| m.as_str().to_ascii_lowercase().replace(' ', "_")),
            })
        });
    }
    if text.contains("table full") && text.contains("dropping packet") {
        return CONNTRACK.captures(text).map(|c| {
            EventKind::ConntrackFull(ConntrackFull {
                table: group(&c, 1).to_string(),
                netns: c.get(2).and_then(|m| m.as_str().parse().ok()),
            })
        });
    }
    if text.contains("file-max limit") {
        return FILE_MAX
            .captures(text)
            .map(|c| EventKind::FileMax(FileMax { limit: number(&c, 1) }));
    }
    if text.contains("consider tuning tcp_mem") || text.starts_with("Out of socket memory") {
        return Some(EventKind::TcpMem(TcpMem {
            variant: "out_of_memory".to_string(),
        }));
    }
    if text.contains("orphaned sockets") && ORPHANS.is_match(text) {
        return Some(EventKind::TcpMem(TcpMem {
            variant: "too_many_orphaned_sockets".to_string(),
        }));
    }
    if text.contains("fork rejected by pids controller") {
        return FORK_REJECTED.captures(text).map(|c| {
            EventKind::ForkRejected(ForkRejected {
                cgroup: group(&c, 1).to_string(),
            })
        });
    }
    if text.ends_with("callbacks suppressed") {
        return SUPPRESSED.captures(text).and_then(|c| {
            Some(EventKind::Lost(LostEvent {
                what: "callbacks_suppressed".to_string(),
                name: Some(group(&c, 1).to_string()),
                count: number(&c, 2)?,
                after_seq: None,
            }))
        });
    }
    if text.starts_with("** ") {
        return PRINTK_DROPPED.captures(text).and_then(|c| {
            Some(EventKind::Lost(LostEvent {
                what: "printk_dropped".to_string(),
                name: None,
                count: number(&c, 1)?,
                after_seq: None,
            }))
        });
    }
    None
}
