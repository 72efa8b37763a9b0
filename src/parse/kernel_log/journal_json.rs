//! `journalctl -k -o json` (and `-o json-seq`): one JSON object per line.
//!
//! ```text
//! {"__REALTIME_TIMESTAMP":"1795449241123456","_SOURCE_MONOTONIC_TIMESTAMP":"401343231",
//!  "_TRANSPORT":"kernel","SYSLOG_IDENTIFIER":"kernel","PRIORITY":"3","SYSLOG_FACILITY":"0",
//!  "MESSAGE":"Memory cgroup out of memory: Killed process 8060 (python3) ..."}
//! ```
//!
//! journald writes every value as a string, except a value that is not UTF-8 (an array of its
//! bytes), one too large to print (`null`), and a field with several values (an array of them).
//! `__REALTIME_TIMESTAMP` is microseconds since the epoch (UTC: the zone is known),
//! `_SOURCE_MONOTONIC_TIMESTAMP` the printk timestamp in microseconds. An entry another program
//! logged (`_TRANSPORT` other than `kernel`, or a `SYSLOG_IDENTIFIER` other than `kernel` without
//! a transport) is not a kernel record. A message of several lines gives one record per line.
//! `-o json-pretty` spreads one object over many lines (`{`, one `"KEY" : value,` per line, `}`):
//! [`join_pretty`] puts each back on one line first.

use std::borrow::Cow;

use chrono::DateTime;
use serde_json::{Map, Value};

use super::record::LogRecord;

/// The most member lines one `-o json-pretty` object may have (journald's entries have a few
/// dozen fields); a longer run is read as plain lines.
const MAX_PRETTY_LINES: usize = 512;

/// Join each `-o json-pretty` object (a line `{`, lines that each start with a quoted key, a line
/// `}`) into one line; every other line passes as it is, and so does a run that does not close.
pub(super) fn join_pretty<'a>(lines: impl Iterator<Item = Cow<'a, str>>) -> Vec<Cow<'a, str>> {
    let mut out = Vec::new();
    let mut pending: Vec<Cow<'a, str>> = Vec::new();
    for line in lines {
        let t = line.trim();
        if pending.is_empty() {
            if t == "{" {
                pending.push(line);
            } else {
                out.push(line);
            }
            continue;
        }
        if t == "}" || t == "}," {
            let joined = pending.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ") + " }";
            out.push(Cow::Owned(joined));
            pending.clear();
        } else if t.starts_with('"') && pending.len() < MAX_PRETTY_LINES {
            pending.push(line);
        } else {
            // Not an object after all: its lines as they were, and this one afresh.
            out.append(&mut pending);
            if t == "{" {
                pending.push(line);
            } else {
                out.push(line);
            }
        }
    }
    out.append(&mut pending);
    out
}

pub(super) enum JsonLine {
    /// Not a JSON object, or one without `MESSAGE`: read the line as text.
    NotJson,
    /// Another program's entry.
    Skipped,
    Records(Vec<LogRecord>),
}

pub(super) fn parse(line: &str) -> JsonLine {
    // json-seq puts an ASCII record separator before each object.
    let line = line.trim_start_matches('\u{1e}');
    let Ok(Value::Object(entry)) = serde_json::from_str::<Value>(line) else {
        return JsonLine::NotJson;
    };
    let Some(message) = entry.get("MESSAGE").and_then(text_of) else {
        return JsonLine::NotJson;
    };
    let transport = field(&entry, "_TRANSPORT");
    let identifier = field(&entry, "SYSLOG_IDENTIFIER");
    let from_kernel = match (transport.as_deref(), identifier.as_deref()) {
        (Some(t), _) => t == "kernel",
        (None, Some(id)) => id == "kernel",
        (None, None) => true,
    };
    if !from_kernel {
        return JsonLine::Skipped;
    }
    let number = |key: &str| field(&entry, key).and_then(|v| v.trim().parse::<u64>().ok());
    let wall = number("__REALTIME_TIMESTAMP")
        .and_then(|usec| i64::try_from(usec).ok())
        .and_then(DateTime::from_timestamp_micros)
        .map(|t| t.fixed_offset());
    let base = LogRecord {
        facility: number("SYSLOG_FACILITY").and_then(|f| u8::try_from(f).ok()),
        level: number("PRIORITY")
            .and_then(|p| u8::try_from(p).ok())
            .filter(|p| *p <= 7),
        mono_usec: number("_SOURCE_MONOTONIC_TIMESTAMP"),
        wall,
        ..LogRecord::default()
    };
    let records = message
        .split('\n')
        .map(str::trim_end)
        .filter(|l| !l.trim().is_empty())
        .map(|l| LogRecord {
            text: l.to_string(),
            ..base.clone()
        })
        .collect();
    JsonLine::Records(records)
}

fn field(entry: &Map<String, Value>, key: &str) -> Option<String> {
    entry.get(key).and_then(text_of)
}

/// A journal value as text: a string, an array of bytes (not UTF-8), or the first of several values.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) if items.iter().all(Value::is_u64) => {
            let bytes: Vec<u8> = items
                .iter()
                .filter_map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Array(items) => items.first().and_then(text_of),
        _ => None,
    }
}
