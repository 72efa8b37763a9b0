//! The filesystems worth judging, from /proc/PID/mountinfo (procfs-core parses each line), and the
//! `osdoctor/filesystems` file a snapshot records their `statvfs()` results in.
//!
//! One row per device: bind mounts of one filesystem are one row, named by its shortest mount point;
//! a mount point mounted over (two devices at one path) keeps the later mount, the one a path lookup
//! reaches. Pseudo filesystems and read-only images, which are full by construction, are skipped
//! ([`SKIPPED_TYPES`]); tmpfs and overlay are kept (a full /dev/shm or container root is a real page).

use std::collections::BTreeMap;

use crate::parse::cgroup::layout::unescape_octal;

/// Filesystem types that hold no user data, or are images always reported full.
pub const SKIPPED_TYPES: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "devtmpfs",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "autofs",
    "binfmt_misc",
    "hugetlbfs",
    "nsfs",
    "squashfs",
    "erofs",
    "iso9660",
    "cramfs",
    "romfs",
    "udf",
    // squashfs through FUSE: how snaps are mounted inside containers.
    "fuse.squashfuse",
    "fuse.squashfuse_ll",
];

/// Filesystems served over the network or by a user-space daemon (FUSE, virtiofs), whose `statvfs()`
/// waits for the server and hangs with it.
pub fn is_network(fstype: &str) -> bool {
    matches!(
        fstype,
        "nfs"
            | "nfs4"
            | "cifs"
            | "smb3"
            | "smbfs"
            | "ceph"
            | "glusterfs"
            | "lustre"
            | "afs"
            | "9p"
            | "virtiofs"
            | "fuse"
            | "fuseblk"
    ) || fstype.starts_with("fuse.")
}

/// One filesystem (device) to judge.
#[derive(Debug, Clone, PartialEq)]
pub struct FilesystemRow {
    /// `MAJ:MIN` of the superblock (mountinfo field 3).
    pub majmin: String,
    /// Its shortest mount point: the row's name.
    pub mount_point: String,
    /// Every mount point of the device, shortest first (bind mounts).
    pub mount_points: Vec<String>,
    pub fstype: String,
    /// The block device, from a mount source under /dev with `/dev/` removed (`loop0`, `vda`,
    /// `mapper/vg-root`); none for tmpfs, overlay, NFS and the like.
    pub device: Option<String>,
    /// A mount of it is read-write while the superblock is read-only, and no mount of it is read-only:
    /// the kernel made it so (after errors every mount stays `rw`; an administrator's `remount,ro`
    /// marks the mount it was given `ro`, and only that one).
    pub remounted_read_only: bool,
    /// The superblock is read-only.
    pub super_read_only: bool,
    /// The superblock and every mount of it are read-only: mounted read-only on purpose (an image, a
    /// snapshot), so nothing can fill it and its fullness is no finding.
    pub mounted_read_only: bool,
}

/// The rows of a mountinfo text, and the lines that did not parse (1-based, with the reason).
pub fn rows(mountinfo: &str) -> (Vec<FilesystemRow>, Vec<String>) {
    let mut problems = Vec::new();
    // mount point -> (majmin, fstype, source, per-mount rw, super ro): a later mount over the same
    // path replaces the earlier one.
    let mut by_path: BTreeMap<String, (usize, procfs_core::process::MountInfo)> = BTreeMap::new();
    for (i, line) in mountinfo.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match procfs_core::process::MountInfo::from_line(line) {
            Ok(mi) => {
                if SKIPPED_TYPES.contains(&mi.fs_type.as_str()) {
                    continue;
                }
                let path = unescape_octal(&mi.mount_point.to_string_lossy());
                by_path.insert(path, (i, mi));
            }
            Err(e) => problems.push(format!("line {}: skipped ({e})", i + 1)),
        }
    }
    let mut by_device: BTreeMap<String, FilesystemRow> = BTreeMap::new();
    let mut order: BTreeMap<String, usize> = BTreeMap::new();
    let mut any_mount_ro: BTreeMap<String, bool> = BTreeMap::new();
    for (path, (line, mi)) in by_path {
        // Linux 6.x ext4 marks an error-stopped superblock `emergency_ro` rather than `ro`.
        let super_ro = mi.super_options.contains_key("ro") || mi.super_options.contains_key("emergency_ro");
        let mount_rw = mi.mount_options.contains_key("rw");
        let row = by_device
            .entry(mi.majmin.clone())
            .or_insert_with(|| FilesystemRow {
                majmin: mi.majmin.clone(),
                mount_point: path.clone(),
                mount_points: Vec::new(),
                fstype: mi.fs_type.clone(),
                device: mi
                    .mount_source
                    .as_deref()
                    .and_then(|s| s.strip_prefix("/dev/"))
                    .map(unescape_octal),
                remounted_read_only: false,
                super_read_only: super_ro,
                mounted_read_only: true,
            });
        row.mount_points.push(path);
        row.remounted_read_only |= super_ro && mount_rw;
        row.super_read_only |= super_ro;
        row.mounted_read_only &= super_ro && !mount_rw;
        any_mount_ro
            .entry(mi.majmin.clone())
            .and_modify(|ro| *ro |= !mount_rw)
            .or_insert(!mount_rw);
        let first = order.entry(mi.majmin.clone()).or_insert(line);
        *first = (*first).min(line);
    }
    let mut out: Vec<FilesystemRow> = by_device
        .into_values()
        .map(|mut r| {
            r.mount_points
                .sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
            r.mount_point = r.mount_points[0].clone();
            // A read-only mount beside the read-write ones: an administrator's remount, not the kernel's.
            if any_mount_ro.get(&r.majmin).copied().unwrap_or(false) {
                r.remounted_read_only = false;
            }
            r
        })
        .collect();
    // In mount order, as `df` lists them, network filesystems last: their `statvfs()` is the one that
    // can hang (a server that is gone), and then only they are left unread.
    out.sort_by_key(|r| {
        (
            is_network(&r.fstype),
            order.get(&r.majmin).copied().unwrap_or(usize::MAX),
        )
    });
    (out, problems)
}

/// What `statvfs()` said of one mount point, in the units it gave (blocks of `fragment_size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatvfsNumbers {
    pub fragment_size: u64,
    pub blocks: u64,
    pub blocks_free: u64,
    /// Free blocks an unprivileged user may use (blocks_free less the reserve): df's "Avail".
    pub blocks_available: u64,
    pub files: u64,
    pub files_free: u64,
}

/// One line of the recorded file: the numbers, or why `statvfs()` failed.
#[derive(Debug, Clone, PartialEq)]
pub enum StatvfsRecord {
    Numbers(StatvfsNumbers),
    Failed(String),
}

/// The recorded file, one line per mount point statvfs'd:
/// `MOUNT_POINT\tFRSIZE\tBLOCKS\tBFREE\tBAVAIL\tFILES\tFFREE`, or `MOUNT_POINT\terror\tREASON`.
/// Mount points are written with mountinfo's octal escapes for tab, newline and backslash.
pub fn format_record(entries: &[(String, StatvfsRecord)]) -> String {
    let mut out = String::new();
    for (path, rec) in entries {
        let path = escape(path);
        match rec {
            StatvfsRecord::Numbers(n) => out.push_str(&format!(
                "{path}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                n.fragment_size, n.blocks, n.blocks_free, n.blocks_available, n.files, n.files_free
            )),
            StatvfsRecord::Failed(why) => {
                out.push_str(&format!("{path}\terror\t{}\n", why.replace(['\t', '\n'], " ")))
            }
        }
    }
    out
}

/// The recorded file back; a line that does not parse is reported by its number.
pub fn parse_record(text: &str) -> (Vec<(String, StatvfsRecord)>, Vec<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let w: Vec<&str> = line.split('\t').collect();
        let rec = match w.as_slice() {
            [path, "error", why] => Some((unescape_octal(path), StatvfsRecord::Failed(why.to_string()))),
            [path, nums @ ..] if nums.len() == 6 => {
                let n: Option<Vec<u64>> = nums.iter().map(|s| s.parse().ok()).collect();
                n.map(|n| {
                    (
                        unescape_octal(path),
                        StatvfsRecord::Numbers(StatvfsNumbers {
                            fragment_size: n[0],
                            blocks: n[1],
                            blocks_free: n[2],
                            blocks_available: n[3],
                            files: n[4],
                            files_free: n[5],
                        }),
                    )
                })
            }
            _ => None,
        };
        match rec {
            Some(r) => out.push(r),
            None if line.is_empty() => {}
            None => problems.push(format!("line {}: not a statvfs record", i + 1)),
        }
    }
    (out, problems)
}

fn escape(path: &str) -> String {
    path.replace('\\', "\\134")
        .replace('\t', "\\011")
        .replace('\n', "\\012")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// This VM's mountinfo, abridged, plus a bind mount, a loop-mounted ext4 image the kernel
    /// remounted read-only after an error, a squashfs image and a path mounted over.
    const MOUNTINFO: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334760k,nr_inodes=3083690,mode=755
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683772k
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
30 25 0:27 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24683772k
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
90 27 254:0 /work /srv/work rw,relatime - ext4 /dev/vda rw,discard
91 27 7:0 / /work/target/fx/ro\\040img rw,relatime - ext4 /dev/loop0 ro,errors=remount-ro
92 27 7:1 / /snap/core rw,relatime - squashfs /dev/loop1 ro
94 27 0:60 / /mnt/nfs rw,relatime - nfs4 srv:/export rw,vers=4.2
93 27 0:50 / /var/lib/docker/overlay2/x/merged rw,relatime - overlay overlay rw,lowerdir=/a
garbage line
";

    #[test]
    fn one_row_per_device_named_by_its_shortest_mount_point() {
        let (rows, problems) = rows(MOUNTINFO);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("line 12: skipped"), "{problems:?}");
        let names: Vec<&str> = rows.iter().map(|r| r.mount_point.as_str()).collect();
        // /dev/shm's first tmpfs is mounted over; squashfs, proc, devtmpfs, cgroup2 skipped; the
        // network filesystem last, although mounted before the overlay.
        assert_eq!(
            names,
            [
                "/",
                "/dev/shm",
                "/work/target/fx/ro img",
                "/var/lib/docker/overlay2/x/merged",
                "/mnt/nfs"
            ]
        );
        let root = &rows[0];
        assert_eq!(root.majmin, "254:0");
        assert_eq!(root.mount_points, ["/", "/srv/work"]);
        assert_eq!(root.device.as_deref(), Some("vda"));
        assert_eq!(rows[1].device, None);
        assert!(!root.remounted_read_only);
        assert_eq!(rows[1].majmin, "0:27");
        let img = &rows[2];
        assert_eq!(img.device.as_deref(), Some("loop0"));
        assert!(img.remounted_read_only && img.super_read_only);
    }

    #[test]
    fn linux_6_ext4_says_emergency_ro() {
        let line = "45 27 7:0 / /mnt/osdoctor-fx/ro rw,relatime - ext4 /dev/loop0 rw,errors=remount-ro,emergency_ro\n";
        assert!(rows(line).0[0].remounted_read_only);
    }

    #[test]
    fn a_read_only_mount_of_a_read_only_superblock_is_not_remounted() {
        let (rows, _) = rows("28 27 0:25 / /mnt/x ro,nosuid - tmpfs none ro,size=4k\n");
        assert!(rows[0].super_read_only);
        assert!(!rows[0].remounted_read_only);
    }

    #[test]
    fn an_administrators_remount_of_a_bind_mounted_filesystem_is_not_the_kernels() {
        // `mount --bind /a /b; mount -o remount,ro /a`: the superblock and /a are ro, /b stays rw.
        let text =
            "40 27 0:50 / /a ro,relatime - tmpfs tmpfs ro\n41 27 0:50 / /b rw,relatime - tmpfs tmpfs ro\n";
        let (rows, _) = rows(text);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].super_read_only);
        assert!(!rows[0].remounted_read_only);
        assert!(!rows[0].mounted_read_only);
    }

    #[test]
    fn an_image_mounted_read_only_is_mounted_read_only_and_a_squashfuse_is_skipped() {
        let text = "40 27 7:3 / /mnt/img ro,relatime - ext4 /dev/loop3 ro\n\
                    41 27 0:60 / /snap/core/1 ro,nodev - fuse.squashfuse squashfuse ro,user_id=0\n";
        let (rows, _) = rows(text);
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(rows[0].mounted_read_only && !rows[0].remounted_read_only);
    }

    #[test]
    fn the_record_round_trips() {
        let entries = vec![
            (
                "/mnt/tab\there".to_string(),
                StatvfsRecord::Numbers(StatvfsNumbers {
                    fragment_size: 4096,
                    blocks: 1000,
                    blocks_free: 30,
                    blocks_available: 30,
                    files: 1000,
                    files_free: 20,
                }),
            ),
            (
                "/mnt/nfs".to_string(),
                StatvfsRecord::Failed("Permission denied (os error 13)".into()),
            ),
        ];
        let text = format_record(&entries);
        assert_eq!(text.lines().count(), 2);
        assert!(
            text.starts_with("/mnt/tab\\011here\t4096\t1000\t30\t30\t1000\t20\n"),
            "{text}"
        );
        let (back, problems) = parse_record(&format!("{text}not a record\n"));
        assert_eq!(back, entries);
        assert_eq!(problems, ["line 3: not a statvfs record"]);
    }
}
