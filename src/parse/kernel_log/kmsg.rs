//! /dev/kmsg records, as successive `read()` calls return them, stored one record per line.
//!
//! Documentation/ABI/testing/dev-kmsg:
//!
//! ```text
//! <prio>,<seq>,<timestamp_usec>,<flags>[,<more fields>];<message text>\n
//!  KEY=value\n            (dictionary lines, each starting with a space)
//! ```
//!
//! "Future extensions might add more comma separated values before the terminating ';'. Unknown
//! fields and values should be gracefully ignored." Non-printable bytes and `\` in the text and in
//! the dictionary are escaped as `\xNN`.

use super::record::{LogRecord, ParsedLog, sequence_gaps};

/// Parse /dev/kmsg records. Lines that are not records are counted in
/// [`ParsedLog::skipped_lines`]; nothing fails.
pub fn parse_kmsg(bytes: &[u8]) -> ParsedLog {
    let mut out = ParsedLog::default();
    for line in bytes.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line[0] == b' ' {
            // A dictionary line belongs to the record before it.
            let entry = unescape(&line[1..]);
            match (out.records.last_mut(), entry.split_once('=')) {
                (Some(record), Some((key, value))) => {
                    record.dict.push((key.to_string(), value.to_string()));
                }
                _ => out.skipped_lines += 1,
            }
            continue;
        }
        match parse_record_line(line) {
            Some(record) => out.records.push(record),
            None => out.skipped_lines += 1,
        }
    }
    out.lost = sequence_gaps(&out.records);
    out
}

/// `prio,seq,usec,flags[,more];text`. Only prio, seq and usec are required: the flags field has
/// always been there, but a record without it is still worth reading.
fn parse_record_line(line: &[u8]) -> Option<LogRecord> {
    let semicolon = line.iter().position(|&b| b == b';')?;
    let header = std::str::from_utf8(&line[..semicolon]).ok()?;
    let mut fields = header.split(',');
    let prio: u32 = fields.next()?.trim().parse().ok()?;
    let seq: u64 = fields.next()?.trim().parse().ok()?;
    let usec: u64 = fields.next()?.trim().parse().ok()?;
    let _flags = fields.next();
    let caller = fields.find_map(|f| f.strip_prefix("caller=")).map(str::to_string);
    let mut text = unescape(&line[semicolon + 1..]);
    text.truncate(text.trim_end().len());
    Some(LogRecord {
        seq: Some(seq),
        facility: Some(u8::try_from(prio >> 3).unwrap_or(u8::MAX)),
        level: Some((prio & 7) as u8),
        mono_usec: Some(usec),
        text,
        caller,
        ..LogRecord::default()
    })
}

/// Undo the kernel's `\xNN` escaping, then decode UTF-8 lossily (the kernel logs bytes, not text).
fn unescape(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 2).and_then(|&b| hex_digit(b)),
                bytes.get(i + 3).and_then(|&b| hex_digit(b)),
            )
        {
            out.push(hi << 4 | lo);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_digit(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::kernel_log::record::Lost;

    #[test]
    fn record_fields_and_dictionary() {
        let input = b"5,335,1318354,-;virtio_blk virtio1: [vda] new size\n SUBSYSTEM=virtio\n DEVICE=+virtio:virtio1\n3,416,401343231,-;Memory cgroup out of memory: Killed process 8060 (python3)\n";
        let parsed = parse_kmsg(input);
        assert_eq!(parsed.records.len(), 2);
        let first = &parsed.records[0];
        assert_eq!(first.seq, Some(335));
        assert_eq!(first.level, Some(5));
        assert_eq!(first.facility, Some(0));
        assert_eq!(first.mono_usec, Some(1_318_354));
        assert_eq!(first.text, "virtio_blk virtio1: [vda] new size");
        assert_eq!(
            first.dict,
            vec![
                ("SUBSYSTEM".to_string(), "virtio".to_string()),
                ("DEVICE".to_string(), "+virtio:virtio1".to_string())
            ]
        );
        assert_eq!(parsed.records[1].level, Some(3));
        assert_eq!(
            parsed.lost,
            vec![Lost {
                after_seq: 335,
                count: 80
            }]
        );
    }

    #[test]
    fn escapes_are_undone_and_utf8_is_decoded() {
        let parsed = parse_kmsg(b"6,1,2,-;a\\x5cb tab\\x09end caf\\xc3\\xa9 bad\\xff \\xzz\n");
        assert_eq!(
            parsed.records[0].text,
            "a\\b tab\tend caf\u{e9} bad\u{fffd} \\xzz"
        );
    }

    #[test]
    fn caller_field_and_user_space_facility() {
        let parsed = parse_kmsg(b"30,7,100,-,caller=T1;systemd[1]: Started foo\r\n");
        let r = &parsed.records[0];
        assert_eq!(r.caller.as_deref(), Some("T1"));
        assert_eq!(r.facility, Some(3));
        assert_eq!(r.level, Some(6));
        assert!(!r.is_from_kernel());
    }

    #[test]
    fn junk_is_skipped_not_fatal() {
        let parsed =
            parse_kmsg(b"# a comment; with a semicolon\nnot a record\n x=1\n6,x,1,-;bad seq\n6,2,3,-;ok\n");
        assert_eq!(parsed.records.len(), 1);
        assert_eq!(parsed.skipped_lines, 4);
    }
}
