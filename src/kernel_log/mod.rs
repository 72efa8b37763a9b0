//! The kernel log: record parsers (/dev/kmsg, dmesg, journalctl -k, syslog) and event recognisers.

mod kmsg;
mod record;
mod text;

pub use kmsg::parse_kmsg;
pub use record::{LogRecord, Lost, ParsedLog, sequence_gaps};
pub use text::{TextOptions, parse_text, parse_text_bytes, parse_text_bytes_with, parse_text_with};
