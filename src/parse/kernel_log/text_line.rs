//! One line of a saved kernel log: its prefix recognised (the dialects of the table in
//! [`super::text`]) and cut off, its fields decoded into a [`LogRecord`].

use std::sync::LazyLock;

use chrono::DateTime;
use regex::{Captures, Regex};

use super::journal_json::{self, JsonLine};
use super::record::LogRecord;
use super::text::TextOptions;
use super::text_fields::{
    ctime_wall, facility_code, fraction_nanos, level_code, local_to_fixed, mono_usec, month_number, num,
    parse_offset, utc, ymd_hms,
};

/// A classic syslog stamp before its year is known.
#[derive(Debug, Clone, Copy)]
pub(super) struct YearlessStamp {
    pub(super) month: u32,
    pub(super) day: u32,
    pub(super) hour: u32,
    pub(super) minute: u32,
    pub(super) second: u32,
    pub(super) nanos: u32,
}

pub(super) enum Line {
    Blank,
    /// Another program's log line: an indented line after it continues it.
    Skipped,
    /// Not a log line at all (a command at a prompt, a journalctl marker): what follows it, indented
    /// or not, is the output, not its continuation.
    NotLog,
    /// A record, and whether the line had a recognised prefix (a timestamp or a syslog tag).
    Record(Box<LogRecord>, Option<YearlessStamp>, bool),
    /// Whole records from one line (a `journalctl -o json` object): nothing continues them.
    Complete(Vec<LogRecord>),
}

static JOURNAL_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^-- (?:Logs begin|Journal begins|Boot |No entries|Reboot)").expect("static regex")
});
static PRIO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^<([0-9]{1,3})>").expect("static regex"));
static DMESG_X: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|res[0-3]|local[0-7])\s*:\s*(emerg|alert|crit|err|warn|notice|info|debug)\s*:\s?",
    )
    .expect("static regex")
});
/// `[ 12.345678]`, `dmesg -d`'s `[ 12.345678 <  0.000012>]`, and stamps with fewer fraction
/// digits or none (`[   12.3]`, `[12]`, `[  240.]`: old kernels, Android, hand-edited logs). A stamp without a
/// fraction counts only before a message that does not start with a digit (see [`mono_stamp`]).
static MONO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[\s*([0-9]+)(?:\.([0-9]*))?(?:\s*<\s*[0-9]+\.[0-9]+>)?\]\s?").expect("static regex")
});
/// `dmesg -e` / `--reltime`: `[  +0.000012]` or `[Nov23 15:54]`; they carry no usable time.
static RELTIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[(?:\s*\+\s*[0-9]+\.[0-9]+|\p{L}{3}[0-9]{1,2} [0-9]{2}:[0-9]{2})\]\s?")
        .expect("static regex")
});
/// The CONFIG_PRINTK_CALLER id dmesg prints after the time: `[T1234]` (task) or `[C1]` (CPU).
/// Padded to a width of six: `[  T902]`, `[    C0]`.
static CALLER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[\s*([TC][0-9]+)\]\s?").expect("static regex"));
/// Samsung's Android kernels tag each line after the stamp with the CPU, and often the task:
/// `c0 1 (swapper/0) msg`, `c1 msg`, or `[7:weishu.kernelsu: 8408] msg` (cpu:comm:pid). Read as a
/// caller id (`T<pid>` or `C<cpu>`).
static SAMSUNG_CALLER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:c([0-9]{1,2})(?: +([0-9]{1,7}) \(([^()]{1,16})\))?|\[([0-9]{1,2}):([^\]]{1,17}?): *([0-9]{1,7})\]) +\S")
        .expect("static regex")
});
/// `dmesg -T`: `[Mon Nov 23 15:54:01 2026]`; the weekday and month may be localised, the month a
/// number with 月 or 월 in Chinese, Japanese and Korean (`[木 12月  7 10:00:00 2026]`).
static CTIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[(?:\p{L}+\.?\s+)?([0-9]{1,2}[月월]|\p{L}+)\.?\s+([0-9]{1,2})\s+([0-9]{1,2}):([0-9]{2}):([0-9]{2})\s+([0-9]{4})\]\s?")
        .expect("static regex")
});
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:([.,])([0-9]+))?(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?\s+",
    )
    .expect("static regex")
});
/// journalctl `-o short-full`: `Mon 2026-11-23 15:54:01 UTC host kernel: msg`.
static SHORT_FULL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^\p{L}{2,3} ([0-9]{4})-([0-9]{2})-([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))? ([A-Za-z][A-Za-z0-9+-]*)\s+",
    )
    .expect("static regex")
});
/// busybox logread: `Wed Mar 27 02:55:10 2019 kern.info kernel: ...`.
static BUSYBOX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\p{L}{2,3} (\p{L}{3}) +([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([0-9]{4})\s+")
        .expect("static regex")
});
/// Classic syslog and journalctl short / short-precise: `Nov 23 15:54:01[.123456] `.
static SYSLOG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\p{L}{3}) +([0-9]{1,2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?\s+")
        .expect("static regex")
});
/// journalctl `-o short-unix`: `1795330062.470000 host kernel: msg`.
static UNIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([0-9]{9,11})\.([0-9]{1,9})\s+").expect("static regex"));
/// After a syslog stamp: `HOST TAG[PID]: ` or, without the host (`journalctl --no-hostname`),
/// `TAG[PID]: `. sysklogd glues a printk stamp to the tag: `host kernel:[ 1234.5678] msg`
/// (group 3 is then the `[`, which stays part of the message; see [`tag_end`]).
static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:([^\s:]+) )?([^\s:\[\]]+)(?:\[[0-9]+\])?:(?: |$|(\[))").expect("static regex")
});
/// A kernel tag where the line's prefix was not recognised (`kernel: msg` from grep, odd syslogs,
/// and the second line of syslogd's wall message, `kernel:[ 1234.5678] msg`).
/// At the start of a line the tag may be glued to any message: syslogd's wall message without a
/// printk stamp (` kernel:NMI watchdog: BUG: soft lockup ...`, RHEL 7).
static KERNEL_TAG_ANYWHERE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)kernel:(?: |(\[))|^kernel:").expect("static regex"));
/// `grep -H` / `grep -Hn` output: the file's name (and line number) before the line,
/// `/var/log/messages:Nov 23 15:54:01 host kernel: msg`. Only taken off when a stamp follows.
static GREP_FILE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\w.~/+-]*[\w~/+-](?::[0-9]+)?:").expect("static regex"));
/// The first line of syslogd's wall message for an emergency: `Message from syslogd@host at Nov 23
/// 15:54:01 ...`. The kernel's line follows on its own (`kernel:[ 1234.5678] msg`).
static WALL_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(?:Broadcast message|Message) from \S+@\S+").expect("static regex"));
/// RFC 5424 (rsyslog `RSYSLOG_SyslogProtocol23Format`, syslog-ng): `<PRI>1 TIMESTAMP HOST APP PROCID
/// MSGID STRUCTURED-DATA MSG`, e.g. `<4>1 2026-11-23T15:54:01.123456+00:00 host kernel - - - msg`.
static RFC5424: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^<([0-9]{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|(?:\[(?:[^\]"\\]|\\.|"(?:[^"\\]|\\.)*")*\])+)(?: |$)"#)
        .expect("static regex")
});
/// A shell prompt and the command typed at it, pasted with the output: `# grep 'TCP: out of memory'
/// /var/log/messages`, `$ dmesg | grep -i oom`, `root@host:~# dmesg`, `[root@host ~]# dmesg -T`,
/// PowerShell's `PS C:\> ...`.
static PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:(?:\[[^\]\s]+@[^\]]+\]|[\w.-]+@[\w.-]+(?::\S*?)?|(?:ba|z|k|da)?sh(?:-[0-9.]+)?|[~/]\S*)?\s?[#$%] +\S|PS [A-Za-z]:\\[^>]*> )",
    )
    .expect("static regex")
});
/// A printk timestamp after an unrecognised prefix, e.g. a hypervisor's copy of the guest's serial
/// console (`2023-12-04T10:49:30.103Z In(05) vcpu-5 - Guest: <4>[39261021.091603] msg`). Six
/// fraction digits, as printk prints them, so that `[ 8060]` task-table rows never match.
static MONO_EMBEDDED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)(?:<([0-9]{1,3})>)?\[\s*([0-9]+)\.([0-9]{6})\]\s?").expect("static regex")
});

pub(super) fn parse_line(raw: &str, options: &TextOptions) -> Line {
    let Some(line) = strip_code_fences(strip_quote_markers(raw.trim())) else {
        return Line::Blank;
    };
    if line.is_empty() {
        return Line::Blank;
    }
    let line = strip_grep_file(line);
    if WALL_HEADER.is_match(line) {
        return Line::Skipped;
    }
    if JOURNAL_MARKER.is_match(line) {
        return Line::NotLog;
    }
    // A command at a prompt, unless console output was glued to the prompt ("/ # [ 9.1] BUG: ...").
    if PROMPT.is_match(line) && !MONO_EMBEDDED.is_match(line) {
        return Line::NotLog;
    }
    if line.starts_with(['{', '\u{1e}']) {
        match journal_json::parse(line) {
            JsonLine::NotJson => {}
            JsonLine::Skipped => return Line::Skipped,
            JsonLine::Records(records) => return Line::Complete(records),
        }
    }
    if let Some(c) = RFC5424.captures(line) {
        return rfc5424(line, &c, options);
    }
    let assumed_offset = options.offset.unwrap_or_else(utc);
    let mut record = LogRecord::default();
    let mut stamp = None;
    let mut rest = line;
    let mut recognised = false;

    if let Some(c) = PRIO.captures(rest) {
        set_prio(&mut record, num(&c, 1));
        rest = after(rest, &c);
        recognised = true;
    }
    if let Some(c) = DMESG_X.captures(rest) {
        record.facility = c.get(1).and_then(|m| facility_code(m.as_str()));
        record.level = c.get(2).and_then(|m| level_code(m.as_str()));
        rest = after(rest, &c);
        recognised = true;
    }

    let mut syslog_like = false;
    // dmesg prints up to three bracketed prefixes: `[  +0.000001] [Tue Jan 13 04:33:10 2026] [T88870]`
    // (--reltime, --ctime, and the CONFIG_PRINTK_CALLER id).
    let mut bracketed = false;
    for _ in 0..3 {
        if let Some((usec, after_stamp)) = mono_stamp(rest) {
            record.mono_usec = usec;
            rest = after_stamp;
            // journalctl -o short-monotonic puts the host and tag after the timestamp. Only a
            // `kernel` tag is stripped: "[ 1.2] EXT4-fs (vda): mounted" must stay a kernel message.
            if let Some(t) = TAG.captures(rest)
                && t.get(1).is_some()
                && t.get(2).is_some_and(|m| m.as_str() == "kernel")
            {
                rest = &rest[tag_end(&t)..];
            }
        } else if let Some(c) = RELTIME.captures(rest) {
            rest = after(rest, &c);
        } else if let Some(c) = CTIME.captures(rest) {
            record.wall = ctime_wall(&c, assumed_offset);
            record.wall_zone_assumed = record.wall.is_some();
            rest = after(rest, &c);
        } else if bracketed && let Some(c) = CALLER.captures(rest) {
            record.caller = c.get(1).map(|m| m.as_str().to_string());
            rest = after(rest, &c);
        } else {
            break;
        }
        bracketed = true;
        recognised = true;
    }
    if bracketed {
        // Nothing else to look for: a dmesg line.
    } else if let Some(c) = ISO.captures(rest) {
        let zone = c.get(9).map(|m| m.as_str());
        let offset = zone.and_then(parse_offset);
        record.wall = ymd_hms(&c, [1, 2, 3, 4, 5, 6], c.get(8).map(|m| m.as_str()))
            .and_then(|naive| local_to_fixed(naive, offset.unwrap_or(assumed_offset)));
        record.wall_zone_assumed = record.wall.is_some() && offset.is_none();
        // dmesg --time-format=iso writes a comma before the fraction and no host or tag.
        syslog_like = c.get(7).is_none_or(|m| m.as_str() != ",");
        rest = after(rest, &c);
        recognised = true;
    } else if let Some(c) = SHORT_FULL.captures(rest) {
        let zone = c.get(8).map_or("", |m| m.as_str());
        let offset = matches!(zone, "UTC" | "GMT" | "Z" | "UCT").then(utc);
        record.wall = ymd_hms(&c, [1, 2, 3, 4, 5, 6], c.get(7).map(|m| m.as_str()))
            .and_then(|naive| local_to_fixed(naive, offset.unwrap_or(assumed_offset)));
        record.wall_zone_assumed = record.wall.is_some() && offset.is_none();
        syslog_like = true;
        rest = after(rest, &c);
        recognised = true;
    } else if let Some(c) = BUSYBOX.captures(rest) {
        record.wall = ctime_wall(&c, assumed_offset);
        record.wall_zone_assumed = record.wall.is_some();
        syslog_like = true;
        rest = after(rest, &c);
        recognised = true;
    } else if let Some(c) = SYSLOG.captures(rest)
        && let Some(month) = month_number(c.get(1).map_or("", |m| m.as_str()))
    {
        stamp = Some(YearlessStamp {
            month,
            day: num(&c, 2).unwrap_or(0) as u32,
            hour: num(&c, 3).unwrap_or(0) as u32,
            minute: num(&c, 4).unwrap_or(0) as u32,
            second: num(&c, 5).unwrap_or(0) as u32,
            nanos: c.get(6).map_or(0, |m| fraction_nanos(m.as_str())),
        });
        syslog_like = true;
        rest = after(rest, &c);
        recognised = true;
    } else if let Some(c) = UNIX.captures(rest)
        && TAG.is_match(after(rest, &c))
    {
        let secs = num(&c, 1).and_then(|s| i64::try_from(s).ok());
        let nanos = c.get(2).map_or(0, |m| fraction_nanos(m.as_str()));
        record.wall = secs
            .and_then(|s| DateTime::from_timestamp(s, nanos))
            .map(|t| t.fixed_offset());
        syslog_like = true;
        rest = after(rest, &c);
        recognised = true;
    }

    let mut structure_known = recognised && !syslog_like;
    if syslog_like && let Some(t) = TAG.captures(rest) {
        // Without a host, a kernel message's own first word can look like a tag (`INFO: task ...`,
        // `TCP: out of memory ...` in a collector's export with bare ISO stamps): a "tag" without a
        // pid before a message that names a kernel event is kept as that message.
        let kernel_message = t.get(2).is_some_and(|m| m.as_str() != "kernel")
            && t.get(1).is_none()
            && !t.get(0).is_some_and(|m| m.as_str().contains('['))
            && super::unrecognised::keyword_of(rest).is_some();
        if kernel_message {
            structure_known = true;
        } else if t.get(2).is_none_or(|m| m.as_str() != "kernel") {
            return Line::Skipped;
        } else {
            // busybox puts `facility.level` where the host would be.
            if let Some(host) = t.get(1).map(|m| m.as_str())
                && let Some((facility, level)) = host.split_once('.')
                && let (Some(f), Some(l)) = (facility_code(facility), level_code(level))
            {
                record.facility = Some(f);
                record.level = Some(l);
            }
            rest = &rest[tag_end(&t)..];
            structure_known = true;
        }
    }

    if !recognised && let Some(t) = KERNEL_TAG_ANYWHERE.captures(rest) {
        rest = &rest[tag_end(&t)..];
        structure_known = true;
    }

    // rsyslog keeps the printk timestamp inside the message: "host kernel: [ 1234.567890] msg",
    // with the printk caller id after it ("[ 1234.567890][  T5006] msg") or alone ("[T5006] msg").
    if record.mono_usec.is_none() {
        if let Some((usec, after_stamp)) = mono_stamp(rest) {
            record.mono_usec = usec;
            rest = after_stamp;
            if let Some(c) = CALLER.captures(rest) {
                record.caller = c.get(1).map(|m| m.as_str().to_string());
                rest = after(rest, &c);
            }
        } else if structure_known
            && record.caller.is_none()
            && let Some(c) = CALLER.captures(rest)
        {
            record.caller = c.get(1).map(|m| m.as_str().to_string());
            rest = after(rest, &c);
        } else if !structure_known
            && let Some(c) = MONO_EMBEDDED.captures(rest)
            && c.get(0).is_some_and(|m| m.start() <= 120)
        {
            if let Some(prio) = num(&c, 1) {
                set_prio(&mut record, Some(prio));
            }
            record.mono_usec = mono_usec(&c, 2, 3);
            rest = after(rest, &c);
        }
    }

    if record.mono_usec.is_some()
        && record.caller.is_none()
        && let Some(c) = SAMSUNG_CALLER.captures(rest)
    {
        record.caller = match (c.get(2).or(c.get(6)), c.get(1).or(c.get(4))) {
            (Some(pid), _) => Some(format!("T{}", pid.as_str())),
            (None, cpu) => cpu.map(|cpu| format!("C{}", cpu.as_str())),
        };
        record.caller_comm = c
            .get(3)
            .or(c.get(5))
            .map(|m| m.as_str().trim().to_string())
            .filter(|comm| !comm.is_empty());
        // The match ends on the message's first character.
        let end = c.get(0).map_or(0, |m| m.end() - 1);
        rest = rest[end..].trim_start();
    }

    let prefixed = recognised || structure_known || record.mono_usec.is_some();
    record.text = rest.trim_end().to_string();
    Line::Record(Box::new(record), stamp, prefixed)
}

/// Markdown code fences: a fence line (```` ``` ````, ```` ```text ````) is no log line (`None`);
/// fences glued to the first or last line of a block are cut off.
fn strip_code_fences(line: &str) -> Option<&str> {
    let mut line = line;
    for fence in ["```", "~~~"] {
        if let Some(rest) = line.strip_prefix(fence) {
            let rest = rest.trim_start_matches(fence.as_bytes()[0] as char);
            if rest
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return None;
            }
            line = rest;
        }
        line = line.trim_end_matches(fence).trim_end();
    }
    Some(line.trim_start())
}

/// `line` without a `grep -H` file name in front (`/var/log/messages:Nov 23 ...`,
/// `kern.log:12:2026-11-23T...`): taken off only when a wall-clock stamp follows it, or a printk
/// stamp after a name that looks like a file's (with a `/` or a `.`; `kernel:[ 12.3]` is a tag).
fn strip_grep_file(line: &str) -> &str {
    let Some(m) = GREP_FILE.find(line) else {
        return line;
    };
    let name = m.as_str();
    let rest = &line[m.end()..];
    let wall_stamp = SYSLOG
        .captures(rest)
        .is_some_and(|c| month_number(c.get(1).map_or("", |m| m.as_str())).is_some())
        || ISO.is_match(rest)
        || SHORT_FULL.is_match(rest)
        || BUSYBOX.is_match(rest)
        || CTIME.is_match(rest);
    let file_like = name.contains(['/', '.']) && !name.starts_with("kernel:");
    if wall_stamp || (file_like && mono_stamp(rest).is_some()) {
        rest
    } else {
        line
    }
}

/// Markdown quote markers (`> `, `>> `) that people leave in front of pasted lines.
fn strip_quote_markers(mut line: &str) -> &str {
    while let Some(rest) = line.strip_prefix('>') {
        line = rest.trim_start();
    }
    line
}

/// A printk stamp at the start of `text`: its microseconds and the text after it. `[ 8060]     0 ...`
/// (an OOM task-table row) is no stamp: a stamp without a fraction must be followed by a message
/// that does not start with a digit.
fn mono_stamp(text: &str) -> Option<(Option<u64>, &str)> {
    let c = MONO.captures(text)?;
    let rest = after(text, &c);
    if c.get(2).is_none()
        && rest
            .trim_start()
            .chars()
            .next()
            .is_none_or(|ch| ch.is_ascii_digit())
    {
        return None;
    }
    Some((mono_usec(&c, 1, 2), rest))
}

/// Where the message starts after a [`TAG`] or [`KERNEL_TAG_ANYWHERE`] match: a `[` glued to the
/// tag's colon belongs to the message.
fn tag_end(t: &Captures<'_>) -> usize {
    let last = t.len() - 1;
    match t.get(last) {
        Some(bracket) if bracket.as_str() == "[" => bracket.start(),
        _ => t.get(0).map_or(0, |m| m.end()),
    }
}

/// An RFC 5424 line: only the `kernel` app's are kernel records.
fn rfc5424(line: &str, c: &Captures<'_>, options: &TextOptions) -> Line {
    if c.get(4).is_none_or(|m| m.as_str() != "kernel") {
        return Line::Skipped;
    }
    let mut record = LogRecord::default();
    set_prio(&mut record, num(c, 1));
    let timestamp = format!("{} ", c.get(2).map_or("-", |m| m.as_str()));
    if let Some(t) = ISO.captures(&timestamp) {
        let offset = t.get(9).and_then(|m| parse_offset(m.as_str()));
        record.wall = ymd_hms(&t, [1, 2, 3, 4, 5, 6], t.get(8).map(|m| m.as_str())).and_then(|naive| {
            local_to_fixed(
                naive,
                offset.unwrap_or_else(|| options.offset.unwrap_or_else(utc)),
            )
        });
        record.wall_zone_assumed = record.wall.is_some() && offset.is_none();
    }
    let mut rest = after(line, c).trim_start_matches('\u{feff}');
    if let Some((usec, after_stamp)) = mono_stamp(rest) {
        record.mono_usec = usec;
        rest = after_stamp;
    }
    record.text = rest.trim_end().to_string();
    Line::Record(Box::new(record), None, true)
}

fn after<'a>(text: &'a str, c: &Captures<'_>) -> &'a str {
    c.get(0).map_or(text, |m| &text[m.end()..])
}

fn set_prio(record: &mut LogRecord, prio: Option<u64>) {
    if let Some(prio) = prio {
        record.facility = u8::try_from(prio >> 3).ok();
        record.level = Some((prio & 7) as u8);
    }
}
