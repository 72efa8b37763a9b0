//! Saved kernel logs as text, the way people keep and paste them. The format is detected per line,
//! because pasted logs mix them (a `dmesg -T` excerpt, then a few syslog lines):
//!
//! ```text
//! [   12.345678] msg                                    dmesg
//! [   12.3] msg, [12] msg                               fewer fraction digits, or none
//! [   12.345678][  T902] msg, [ 12.345678] [    C0] msg printk caller id (CONFIG_PRINTK_CALLER)
//! <6>[   12.345678] msg                                 dmesg -r
//! kern  :err   : [   12.345678] msg                     dmesg -x
//! [    0.000000 <    0.000000>] msg                     dmesg -d
//! [Mon Nov 23 15:54:01 2026] msg                        dmesg -T (localised too: "[lun. nov. 23 ...]",
//!                                                       "[Пн ноя 23 ...]": de fr es it pt nl pl ru)
//! [Nov23 15:54] msg, [  +0.000123] msg                  dmesg -H / -e (order kept, no time)
//! 2026-11-23T15:54:01,123456+00:00 msg                  dmesg --time-format=iso
//! Nov 23 15:54:01 host kernel: msg                      journalctl -k, -o short
//! Nov 23 15:54:01.123456 host kernel: msg               journalctl -o short-precise
//! 2026-11-23T15:54:01+0000 host kernel: msg             journalctl -o short-iso (short-iso-precise too)
//! Mon 2026-11-23 15:54:01 UTC host kernel: msg          journalctl -o short-full
//! [   12.345678] host kernel: msg                       journalctl -o short-monotonic
//! 1795330062.470000 host kernel: msg                    journalctl -o short-unix
//! {"MESSAGE":"msg","__REALTIME_TIMESTAMP":...}          journalctl -o json / json-seq (journal_json.rs)
//! Nov 23 15:54:01 host kernel: [ 1234.567890] msg      rsyslog kern.log, /var/log/messages
//! Nov 23 15:54:01 host kernel:[ 1234.5678] msg         sysklogd (no space after the tag)
//!  kernel:[ 1234.5678] msg                             syslogd's wall message (after "Message from
//!  kernel:msg                                           syslogd@host at ...", which is skipped)
//! /var/log/messages:Nov 23 15:54:01 host kernel: msg    grep -H (-Hn: `file:12:...`) before any stamp
//! 2026-11-23T15:54:01.123456+00:00 host kernel: msg     rsyslog with RFC 3339 stamps (<4> in front too)
//! <4>1 2026-11-23T15:54:01.123456+00:00 host kernel - - - msg   RFC 5424 (app `kernel` only)
//! Wed Mar 27 02:55:10 2019 kern.info kernel: [ts] msg   busybox / OpenWrt logread
//! ```
//!
//! Syslog lines from other programs (`host sshd[123]: ...`) are dropped, and so are shell commands
//! pasted with their prompt (`# grep ...`, `$ dmesg | grep oom`, `root@host:~# dmesg`, `PS C:\> ...`). A line with no
//! recognised prefix is kept as bare text: people paste logs with the prefixes cut off. Markdown quote
//! markers (`> `) in front of a line are ignored, and so are `-- Boot ... --` style journalctl markers.
//!
//! A line without a prefix after one with a prefix continues it when it was plainly wrapped: the
//! line before is as wide as a terminal (80 columns or more; joined as is), or a mail client broke
//! it at a space (55 to 79 columns wide, and the next word would not have fitted in 72; joined with
//! a space), or it is indented. Anything else is a record of its own, and so is a line that names
//! an event itself (an [`EVENT_KEYWORDS`](super::EVENT_KEYWORDS) keyword: `Killed process ...`
//! pasted without its stamp is a record, not the rest of the line before). A chain of terminal cuts
//! keeps the terminal's width (every piece but the last is as wide as the first line), and no
//! joined message grows past what the kernel logs in one record.
//!
//! This module is the driver (wrapping, years of syslog stamps); `text_line` reads one line's
//! prefix, `text_fields` decodes its fields.

use std::borrow::Cow;

use chrono::{Datelike, FixedOffset, NaiveDate, Utc};

use super::record::{LogRecord, ParsedLog};
use super::text_fields::{local_to_fixed, utc};
use super::text_line::{Line, YearlessStamp, parse_line};
use super::unrecognised::keyword_of;

/// How to read stamps that do not say everything.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// Year of the newest classic-syslog line (`Nov 23 15:54:01` carries no year). Earlier lines
    /// get earlier years when the month goes backwards (December, then January). `None` means the
    /// current year.
    pub year: Option<i32>,
    /// Offset of stamps printed without a zone (classic syslog, `dmesg -T`): they are local time on
    /// the host that wrote them. `None` means UTC. Records stamped so have
    /// [`LogRecord::wall_zone_assumed`] set.
    pub offset: Option<FixedOffset>,
}

/// Parse a saved text log; see the module documentation for the formats.
pub fn parse_text(text: &str, year_hint: Option<i32>) -> ParsedLog {
    parse_text_with(
        text,
        &TextOptions {
            year: year_hint,
            offset: None,
        },
    )
}

/// [`parse_text`] for bytes that may not be UTF-8 (each line is decoded lossily).
pub fn parse_text_bytes(bytes: &[u8], year_hint: Option<i32>) -> ParsedLog {
    parse_text_bytes_with(
        bytes,
        &TextOptions {
            year: year_hint,
            offset: None,
        },
    )
}

/// [`parse_text`] with explicit [`TextOptions`].
pub fn parse_text_with(text: &str, options: &TextOptions) -> ParsedLog {
    parse_lines(
        super::journal_json::join_pretty(text.split('\n').map(Cow::Borrowed)).into_iter(),
        options,
    )
}

/// [`parse_text_bytes`] with explicit [`TextOptions`].
pub fn parse_text_bytes_with(bytes: &[u8], options: &TextOptions) -> ParsedLog {
    let lines = bytes.split(|&b| b == b'\n').map(String::from_utf8_lossy);
    parse_lines(super::journal_json::join_pretty(lines).into_iter(), options)
}

/// The narrowest terminal a pasted line may have been wrapped by.
const MIN_WRAP_WIDTH: usize = 80;
/// The narrowest width mail clients wrap plain text at (Thunderbird and git's 72; Outlook's 76 and
/// RFC 2646's 78 are wider). A word that would have fitted on a line this wide was not wrapped.
const MAIL_WRAP_WIDTH: usize = 72;
/// A mail-wrapped line is at least this wide: the words before the break filled most of it.
const MAIL_MIN_WIDTH: usize = 55;

/// The longest message a joined record may grow to: the kernel's own limit on one record's text
/// (PRINTK_MESSAGE_MAX, 2048 bytes; LOG_LINE_MAX was 1024 before 6.1), so wraps never chain on
/// past what one kernel line could have been.
const MAX_JOINED_BYTES: usize = 2048;

/// How a line without a prefix after a line with one continues it, if it does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wrap {
    No,
    /// Cut anywhere by a terminal: joined as is.
    Cut,
    /// Broken at a space (by a mail client, or dmesg's indented second line): joined with a space.
    AtSpace,
}

/// Whether `line` continues a line `previous_width` columns wide. Conservative: only a line as wide as
/// a terminal, or one whose next word would not have fitted on a mail client's line, is taken as
/// wrapped; anything shorter ended where its writer ended it.
fn wrap_of(previous_width: usize, line: &str) -> Wrap {
    if line.starts_with([' ', '\t']) {
        return Wrap::AtSpace;
    }
    if previous_width >= MIN_WRAP_WIDTH {
        return Wrap::Cut;
    }
    let first_word = line.split_whitespace().next().map_or(0, |w| w.chars().count());
    if previous_width >= MAIL_MIN_WIDTH && first_word > 0 && previous_width + 1 + first_word > MAIL_WRAP_WIDTH
    {
        return Wrap::AtSpace;
    }
    Wrap::No
}

/// What the line before was, to tell a wrapped line from a new message.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Previous {
    Blank,
    Skipped,
    Prefixed,
    Bare,
}

/// Whether a line without a prefix, `wrap` of the line before, may be joined onto `last`: it does not
/// name an event itself, a terminal cut after a joined line is as wide as the record's first line
/// (`first_width`; the same terminal cut both), and the joined message stays in the kernel's limit.
fn joins(wrap: Wrap, text: &str, last: &LogRecord, chain: Chain, previous_width: usize) -> bool {
    if wrap == Wrap::No || keyword_of(text).is_some() {
        return false;
    }
    if wrap == Wrap::Cut && chain.joined && chain.first_width != previous_width {
        return false;
    }
    last.text.len() + 1 + text.len() <= MAX_JOINED_BYTES
}

/// The record that lines are being joined onto.
#[derive(Clone, Copy, Default)]
struct Chain {
    /// The width of its first line.
    first_width: usize,
    /// Whether a line has been joined onto it.
    joined: bool,
}

fn parse_lines<'a>(lines: impl Iterator<Item = Cow<'a, str>>, options: &TextOptions) -> ParsedLog {
    let mut pending: Vec<(LogRecord, Option<YearlessStamp>)> = Vec::new();
    let mut skipped_lines = 0;
    let mut previous = Previous::Blank;
    let mut previous_width = 0;
    let mut chain = Chain::default();
    for line in lines {
        let indented = line.starts_with([' ', '\t']);
        let wrap = wrap_of(previous_width, &line);
        let width = line.trim_end().chars().count();
        let before = std::mem::replace(&mut previous_width, width);
        let mut joined = false;
        previous = match parse_line(&line, options) {
            Line::Blank => Previous::Blank,
            Line::Skipped => {
                skipped_lines += 1;
                Previous::Skipped
            }
            // An indented one inside another program's message is more of that message.
            Line::NotLog if previous == Previous::Skipped && indented => {
                skipped_lines += 1;
                Previous::Skipped
            }
            Line::NotLog => {
                skipped_lines += 1;
                Previous::Blank
            }
            // A line without a prefix right after one with a prefix is the rest of that line,
            // wrapped by the terminal it was copied from (cut anywhere, so joined as is) or by a
            // mail client (at a space), or the indented second line of a multi-line message
            // (dmesg indents those).
            Line::Record(record, _, false)
                if previous == Previous::Prefixed
                    && pending
                        .last()
                        .is_some_and(|(last, _)| joins(wrap, &record.text, last, chain, before)) =>
            {
                if let Some((last, _)) = pending.last_mut() {
                    if wrap == Wrap::AtSpace {
                        last.text.push(' ');
                    }
                    last.text.push_str(&record.text);
                }
                joined = true;
                Previous::Prefixed
            }
            Line::Complete(records) => {
                pending.extend(records.into_iter().map(|r| (r, None)));
                Previous::Blank
            }
            // The indented continuation of another program's message.
            Line::Record(_, _, false) if previous == Previous::Skipped && indented => {
                skipped_lines += 1;
                Previous::Skipped
            }
            Line::Record(record, stamp, prefixed) => {
                pending.push((*record, stamp));
                if prefixed {
                    Previous::Prefixed
                } else {
                    Previous::Bare
                }
            }
        };
        chain = if joined {
            Chain {
                joined: true,
                ..chain
            }
        } else {
            Chain {
                first_width: width,
                joined: false,
            }
        };
    }
    assign_years(&mut pending, options);
    ParsedLog {
        records: pending.into_iter().map(|(record, _)| record).collect(),
        lost: Vec::new(),
        skipped_lines,
    }
}

/// Give year-less syslog stamps a year: the newest line gets `options.year` (or this year), and a
/// month that goes far backwards (December, then January) starts the next year.
fn assign_years(pending: &mut [(LogRecord, Option<YearlessStamp>)], options: &TextOptions) {
    let mut rollovers = Vec::with_capacity(pending.len());
    let mut years_passed = 0i32;
    let mut previous_month = None;
    for (_, stamp) in pending.iter() {
        if let Some(stamp) = stamp {
            if previous_month.is_some_and(|prev| stamp.month + 6 <= prev) {
                years_passed += 1;
            }
            previous_month = Some(stamp.month);
        }
        rollovers.push(years_passed);
    }
    let newest_year = options.year.unwrap_or_else(|| Utc::now().year());
    let offset = options.offset.unwrap_or_else(utc);
    for ((record, stamp), passed) in pending.iter_mut().zip(rollovers) {
        let Some(s) = stamp else { continue };
        let year = newest_year.saturating_sub(years_passed - passed);
        record.wall = NaiveDate::from_ymd_opt(year, s.month, s.day)
            .and_then(|d| d.and_hms_nano_opt(s.hour, s.minute, s.second, s.nanos))
            .and_then(|naive| local_to_fixed(naive, offset));
        record.wall_zone_assumed = record.wall.is_some();
    }
}
