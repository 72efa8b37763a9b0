//! The kernel log: record parsers (/dev/kmsg, dmesg, journalctl -k, syslog) and event recognisers.
