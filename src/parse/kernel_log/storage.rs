//! Recognisers of storage errors: block-layer and buffer I/O errors, filesystem errors, shutdowns
//! and read-only remounts (ext2/3/4, XFS, btrfs, jbd2), NVMe timeouts and resets.

use std::sync::LazyLock;

use regex::Regex;

use super::events::{IoError, IoErrorKind};
use super::helpers::{group, number, rx};

static BLOCK_IO: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(?:[A-Za-z_]+: )?([A-Za-z/ -]+?) error, dev ([^,\s]+), sector ([0-9]+)(?: op 0x[0-9a-fA-F]+:\(([A-Z_]+)\))?",
    )
});
static BUFFER_IO: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^Buffer I/O error on dev(?:ice)? ([^,\s]+)(?:, logical block ([0-9]+))?(?:, (.*))?$")
});
static EXT_ERROR: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^(EXT[234])-fs error \(device ([^)]+)\)(?: in)?:?\s*(.*)$"));
/// The task in an ext4 error (fs/ext4/super.c `__ext4_error*`): `...: comm <comm>: <message>`. A comm
/// is at most 15 bytes and may hold blanks (`Cache2 I/O`); the shortest match ends at the first `: `.
static EXT_COMM: LazyLock<Regex> = LazyLock::new(|| rx(r"(?:^|: )comm (.{1,15}?): "));
/// ext4's daily summary of the errors recorded in its superblock (fs/ext4/super.c
/// print_daily_error_info): `error count since last fsck: 12`, then `initial error at time
/// 1700000000: ext4_find_entry:1455: inode 2` and `last error at time ...`.
static EXT_ERROR_SUMMARY: LazyLock<Regex> = LazyLock::new(|| {
    rx(
        r"^(EXT[234])-fs \(([^)\s]+)\): ((?:error count since last fsck|initial error at time|last error at time):? .*)$",
    )
});
/// The first line of an ext4 error summary; the other two complete it (see [`is_summary_line`]).
pub(super) const EXT_SUMMARY_START: &str = "error count since last fsck";
static FS_PREFIX: LazyLock<Regex> = LazyLock::new(|| rx(r"^(\S+?)(?:-fs)? \(([^)\s]+)[^)]*\):"));
static JOURNAL_ABORT: LazyLock<Regex> = LazyLock::new(|| rx(r"^Aborting journal on device (\S+?)\.?$"));
static XFS: LazyLock<Regex> = LazyLock::new(|| rx(r"^XFS \(([^)]+)\): (.*)$"));
/// 2.6-era XFS errors name no device: `XFS: Internal error XFS_WANT_CORRUPTED_RETURN at line 342 of file
/// fs/xfs/xfs_alloc.c.  Caller 0xffffffffa01e76c2`.
static XFS_NO_DEVICE: LazyLock<Regex> = LazyLock::new(|| rx(r"^XFS: (Internal error .*)$"));
static BTRFS_READONLY: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^BTRFS (?:info|error|warning|critical) \(device ([^)\s]+)[^)]*\):? forced readonly")
});
static BTRFS_ERROR: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^BTRFS(?: (?:error|critical)|: error) \(device ([^)\s]+)[^)]*\)(?: in)?:?\s*(.*)$")
});
static NVME_TIMEOUT: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^nvme (nvme[0-9]+): I/O .*?QID ([0-9]+) timeout, (.*)$"));
static NVME_RESET: LazyLock<Regex> = LazyLock::new(|| {
    rx(r"^nvme (nvme[0-9]+): (controller is down; will reset.*|Device not ready; aborting reset.*)$")
});

pub(super) fn io_error(text: &str) -> Option<IoError> {
    let base = |what: IoErrorKind| IoError {
        what,
        device: None,
        filesystem: None,
        sector: None,
        block: None,
        op: None,
        error: None,
        detail: None,
        comm: None,
    };
    if text.contains(" error, dev ")
        && let Some(c) = BLOCK_IO.captures(text)
    {
        return Some(IoError {
            device: Some(group(&c, 2).to_string()),
            sector: number(&c, 3),
            op: c.get(4).map(|m| m.as_str().to_string()),
            error: Some(group(&c, 1).trim().to_string()),
            ..base(IoErrorKind::BlockIo)
        });
    }
    if let Some(c) = BUFFER_IO.captures(text) {
        return Some(IoError {
            device: Some(group(&c, 1).to_string()),
            block: number(&c, 2),
            detail: c.get(3).map(|m| m.as_str().to_string()),
            ..base(IoErrorKind::BufferIo)
        });
    }
    if let Some(c) = EXT_ERROR.captures(text) {
        let detail = group(&c, 3);
        return Some(IoError {
            filesystem: Some(group(&c, 1).to_ascii_lowercase()),
            device: Some(group(&c, 2).to_string()),
            detail: Some(detail.to_string()),
            comm: EXT_COMM.captures(detail).map(|m| group(&m, 1).to_string()),
            ..base(IoErrorKind::FsError)
        });
    }
    if let Some(c) = EXT_ERROR_SUMMARY.captures(text) {
        return Some(IoError {
            filesystem: Some(group(&c, 1).to_ascii_lowercase()),
            device: Some(group(&c, 2).to_string()),
            detail: Some(group(&c, 3).to_string()),
            ..base(IoErrorKind::FsError)
        });
    }
    if text.contains("Remounting filesystem read-only") {
        let prefix = FS_PREFIX.captures(text);
        return Some(IoError {
            filesystem: prefix.as_ref().map(|c| group(c, 1).to_ascii_lowercase()),
            device: prefix.as_ref().map(|c| group(c, 2).to_string()),
            ..base(IoErrorKind::RemountReadOnly)
        });
    }
    if let Some(c) = JOURNAL_ABORT.captures(text) {
        // jbd2 names the journal `<dev>-<inode>`: sda1-8.
        let journal = group(&c, 1);
        let device = match journal.rsplit_once('-') {
            Some((dev, ino)) if !dev.is_empty() && ino.bytes().all(|b| b.is_ascii_digit()) => dev,
            _ => journal,
        };
        return Some(IoError {
            device: Some(device.to_string()),
            detail: Some(journal.to_string()),
            ..base(IoErrorKind::JournalAborted)
        });
    }
    if let Some(c) = XFS.captures(text) {
        let message = group(&c, 2);
        let what = if message.contains("xfs_do_force_shutdown")
            || message.contains("Shutting down filesystem")
            || message.contains("has been shut down")
        {
            IoErrorKind::FsShutdown
        } else if message.contains("metadata I/O error") {
            IoErrorKind::MetadataIo
        } else if message.contains("Corruption")
            || message.contains("corruption detected")
            || message.contains("CRC error detected")
            || message.contains("Internal error")
        {
            IoErrorKind::FsError
        } else {
            return None;
        };
        return Some(IoError {
            filesystem: Some("xfs".to_string()),
            device: Some(group(&c, 1).to_string()),
            detail: Some(message.to_string()),
            ..base(what)
        });
    }
    if let Some(c) = XFS_NO_DEVICE.captures(text) {
        return Some(IoError {
            filesystem: Some("xfs".to_string()),
            detail: Some(group(&c, 1).to_string()),
            ..base(IoErrorKind::FsError)
        });
    }
    if let Some(c) = BTRFS_READONLY.captures(text) {
        return Some(IoError {
            filesystem: Some("btrfs".to_string()),
            device: Some(group(&c, 1).to_string()),
            ..base(IoErrorKind::RemountReadOnly)
        });
    }
    if let Some(c) = BTRFS_ERROR.captures(text) {
        return Some(IoError {
            filesystem: Some("btrfs".to_string()),
            device: Some(group(&c, 1).to_string()),
            detail: Some(group(&c, 2).to_string()),
            ..base(IoErrorKind::FsError)
        });
    }
    if let Some(c) = NVME_TIMEOUT.captures(text) {
        return Some(IoError {
            device: Some(group(&c, 1).to_string()),
            detail: Some(format!("QID {}: {}", group(&c, 2), group(&c, 3))),
            ..base(IoErrorKind::NvmeTimeout)
        });
    }
    if let Some(c) = NVME_RESET.captures(text) {
        return Some(IoError {
            device: Some(group(&c, 1).to_string()),
            detail: Some(group(&c, 2).to_string()),
            ..base(IoErrorKind::NvmeReset)
        });
    }
    None
}

/// Whether an fs error is the `initial error` / `last error` line of an ext4 summary, which belongs
/// to the `error count` line before it.
pub(super) fn is_summary_line(error: &IoError) -> bool {
    error
        .detail
        .as_deref()
        .is_some_and(|d| d.starts_with("initial error at time") || d.starts_with("last error at time"))
}
