//! Mount facts: one subject per filesystem (a device's mounts are one row, named by its shortest mount
//! point), with space and inodes as `df` and `df -i` compute them, and whether the kernel made its
//! superblock read-only under a read-write mount.

use std::collections::BTreeMap;

use super::{Subject, SubjectId, SubjectKind};
use crate::collect::filesystem::{FilesystemReading, FilesystemSample};

/// The facts this module derives.
#[rustfmt::skip]
pub static FACTS: &[super::FactDef] = &[
    fact!("mount.used_ratio", Ratio, Mount, ["/proc/self/mountinfo", "/osdoctor/filesystems"], "space used as df computes it: used / (used + available to unprivileged users)"),
    fact!("mount.size_bytes", Bytes, Mount, ["/proc/self/mountinfo"], "size of the filesystem (statvfs f_blocks)"),
    fact!("mount.used_bytes", Bytes, Mount, ["/proc/self/mountinfo"], "space used (f_blocks - f_bfree)"),
    fact!("mount.available_bytes", Bytes, Mount, ["/proc/self/mountinfo"], "space an unprivileged user may still write (f_bavail; root may have a reserve beyond it)"),
    fact!("mount.inodes_used_ratio", Ratio, Mount, ["/proc/self/mountinfo"], "inodes used / inodes (df -i), on filesystems that report inodes"),
    fact!("mount.inodes_used", Count, Mount, ["/proc/self/mountinfo"], "inodes in use"),
    fact!("mount.inodes_total", Count, Mount, ["/proc/self/mountinfo"], "inodes the filesystem has"),
    fact!("mount.fstype", Text, Mount, ["/proc/self/mountinfo"], "filesystem type"),
    fact!("mount.mount_points", Text, Mount, ["/proc/self/mountinfo"], "every mount point of the filesystem (bind mounts)"),
    fact!("mount.remounted_read_only", Number, Mount, ["/proc/self/mountinfo"], "1 when a mount is read-write but the superblock is read-only (the kernel remounted it after errors), else 0"),
];

/// The mount subjects, or why there are none (the reason, and whether the host has no filesystem).
///
/// `kernel_names` maps a block device's `MAJ:MIN` to the kernel's name for it (/proc/diskstats): a
/// mount's device is named as the kernel log names it (`dm-0`, not `mapper/vg0-data`), so that its
/// errors join it.
pub fn derive(
    fs: Option<&FilesystemSample>,
    kernel_names: &BTreeMap<String, String>,
) -> Result<Vec<Subject>, (String, bool)> {
    let Some(fs) = fs else {
        return Err(("the mount table could not be read".to_string(), false));
    };
    if fs.not_recorded {
        return Err((super::disk::OLDER_SNAPSHOT.to_string(), false));
    }
    if fs.filesystems.is_empty() {
        let why = if fs.cut_short {
            "statvfs() of the first filesystem did not return before the deadline"
        } else {
            "no filesystem that holds files is mounted"
        };
        return Err((why.to_string(), !fs.cut_short));
    }
    Ok(without_overlay_twins(&fs.filesystems)
        .iter()
        .map(|r| subject(r, kernel_names))
        .collect())
}

/// The rows to judge: an overlay (a container's root) whose `statvfs()` is that of another row is the
/// filesystem of its upper directory, which already has a row (`/var/lib/docker`): one finding, not one
/// per container. Its mount point joins that row's, so deleted files held under it still find it.
fn without_overlay_twins(rows: &[FilesystemReading]) -> Vec<FilesystemReading> {
    let mut kept: Vec<FilesystemReading> = rows
        .iter()
        .filter(|r| r.row.fstype != "overlay")
        .cloned()
        .collect();
    for overlay in rows.iter().filter(|r| r.row.fstype == "overlay") {
        let twin = overlay.statvfs.and_then(|v| {
            kept.iter_mut()
                .find(|k| k.statvfs == Some(v) && k.row.fstype != "overlay")
        });
        match twin {
            Some(upper) => upper
                .row
                .mount_points
                .extend(overlay.row.mount_points.iter().cloned()),
            None => kept.push(overlay.clone()),
        }
    }
    kept
}

fn subject(r: &FilesystemReading, kernel_names: &BTreeMap<String, String>) -> Subject {
    let mut f = super::FactSet::default();
    f.text("mount.fstype", r.row.fstype.clone());
    f.text("mount.mount_points", r.row.mount_points.join(", "));
    f.num(
        "mount.remounted_read_only",
        if r.row.remounted_read_only { 1.0 } else { 0.0 },
    );
    match &r.statvfs {
        Some(_) if r.row.mounted_read_only => {
            // An image or a snapshot mounted read-only is as full as it was made: nothing can fill it.
            let why = format!("{} is mounted read-only: nothing can fill it", r.row.mount_point);
            for name in ["mount.used_ratio", "mount.inodes_used_ratio"] {
                f.absent(name, why.clone());
            }
        }
        Some(v) => {
            let frsize = v.fragment_size.max(1) as f64;
            let used = v.blocks.saturating_sub(v.blocks_free);
            // df's Use%: used / (used + avail), rounded up by df; the reserve for root is not "available".
            let denominator = used + v.blocks_available;
            if v.blocks > 0 && denominator > 0 {
                f.num("mount.used_ratio", used as f64 / denominator as f64);
            } else {
                f.absent(
                    "mount.used_ratio",
                    "the filesystem reports no blocks (statvfs f_blocks is 0)",
                );
            }
            f.num("mount.size_bytes", v.blocks as f64 * frsize);
            f.num("mount.used_bytes", used as f64 * frsize);
            f.num("mount.available_bytes", v.blocks_available as f64 * frsize);
            if v.files > 0 {
                let used_inodes = v.files.saturating_sub(v.files_free);
                f.num("mount.inodes_used", used_inodes as f64);
                f.num("mount.inodes_total", v.files as f64);
                f.num("mount.inodes_used_ratio", used_inodes as f64 / v.files as f64);
            } else {
                // btrfs, and tmpfs with nr_inodes=0, allocate inodes dynamically: no inode limit.
                f.absent(
                    "mount.inodes_used_ratio",
                    "the filesystem has no fixed inode count (statvfs f_files is 0)",
                );
            }
        }
        None => {
            let why = format!("statvfs({}) was not read (see coverage)", r.row.mount_point);
            for name in ["mount.used_ratio", "mount.inodes_used_ratio"] {
                f.absent(name, why.clone());
            }
        }
    }
    Subject {
        id: SubjectId {
            kind: SubjectKind::Mount,
            path: Some(r.row.mount_point.clone()),
            device: kernel_names
                .get(&r.row.majmin)
                .cloned()
                .or_else(|| r.row.device.clone()),
            ..SubjectId::default()
        },
        facts: f,
    }
}

/// The mount point (a row's name) holding `file`: the row with the longest mount point that is a
/// prefix of the path, over every mount point of every row.
pub fn mount_of<'a>(file: &str, rows: &'a [Subject]) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for s in rows {
        let Some(name) = s.id.path.as_deref() else {
            continue;
        };
        let points = s
            .facts
            .get("mount.mount_points")
            .and_then(|v| match v {
                super::Value::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .unwrap_or(name);
        for p in points.split(", ") {
            let under =
                p == "/" || file == p || file.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'));
            if under && best.is_none_or(|(len, _)| p.len() > len) {
                best = Some((p.len(), name));
            }
        }
    }
    best.map(|(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::filesystems::{StatvfsNumbers, rows};

    fn sample(mountinfo: &str, numbers: &[StatvfsNumbers]) -> FilesystemSample {
        let (rows, _) = rows(mountinfo);
        FilesystemSample {
            filesystems: rows
                .into_iter()
                .zip(numbers.iter().map(|n| Some(*n)).chain(std::iter::repeat(None)))
                .map(|(row, statvfs)| FilesystemReading { row, statvfs })
                .collect(),
            ..FilesystemSample::default()
        }
    }

    #[test]
    fn space_as_df_computes_it_and_inodes_as_df_i() {
        // ext4 with a 5% root reserve: 1000 blocks, 100 free of which 50 available to users.
        let fs = sample(
            "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
             28 27 0:40 / /tmp rw - tmpfs tmpfs rw,size=4k\n",
            &[
                StatvfsNumbers {
                    fragment_size: 4096,
                    blocks: 1000,
                    blocks_free: 100,
                    blocks_available: 50,
                    files: 1000,
                    files_free: 20,
                },
                StatvfsNumbers {
                    fragment_size: 4096,
                    blocks: 1,
                    blocks_free: 1,
                    blocks_available: 1,
                    files: 0,
                    files_free: 0,
                },
            ],
        );
        let subjects = derive(Some(&fs), &BTreeMap::new()).unwrap();
        let root = &subjects[0].facts;
        assert_eq!(subjects[0].id.path.as_deref(), Some("/"));
        assert_eq!(subjects[0].id.device.as_deref(), Some("vda"));
        // df: 900 used / (900 + 50) = 94.7%, not 90% of the size.
        assert_eq!(root.get_f64("mount.used_ratio"), Some(900.0 / 950.0));
        assert_eq!(root.get_f64("mount.available_bytes"), Some(50.0 * 4096.0));
        assert_eq!(root.get_f64("mount.inodes_used_ratio"), Some(0.98));
        assert_eq!(root.get_f64("mount.remounted_read_only"), Some(0.0));
        let tmp = &subjects[1].facts;
        assert_eq!(tmp.get_f64("mount.used_ratio"), Some(0.0));
        assert_eq!(tmp.get_f64("mount.inodes_used_ratio"), None);
        assert!(tmp.stated_reason("mount.inodes_used_ratio").is_some());
    }

    #[test]
    fn a_deleted_file_belongs_to_the_longest_mount_point_above_it() {
        let fs = sample(
            "27 1 254:0 / / rw - ext4 /dev/vda rw\n\
             28 27 0:40 / /srv/full rw - tmpfs tmpfs rw\n\
             29 27 0:40 / /b rw - tmpfs tmpfs rw\n",
            &[],
        );
        let subjects = derive(Some(&fs), &BTreeMap::new()).unwrap();
        assert_eq!(mount_of("/srv/full/log (x)", &subjects), Some("/b"));
        assert_eq!(mount_of("/srv/fullness", &subjects), Some("/"));
        assert_eq!(mount_of("/etc/passwd", &subjects), Some("/"));
    }

    #[test]
    fn container_roots_on_a_full_disk_are_the_disks_row_and_a_read_only_image_is_not_judged() {
        let full = StatvfsNumbers {
            fragment_size: 4096,
            blocks: 1000,
            blocks_free: 30,
            blocks_available: 30,
            files: 1000,
            files_free: 10,
        };
        let fs = sample(
            "27 1 254:16 / /var/lib/docker rw - ext4 /dev/vdb rw\n\
             40 27 0:90 / /var/lib/docker/overlay2/aaa/merged rw - overlay overlay rw,upperdir=/var/lib/docker/overlay2/aaa/diff\n\
             41 27 0:91 / /var/lib/docker/overlay2/bbb/merged rw - overlay overlay rw,upperdir=/var/lib/docker/overlay2/bbb/diff\n\
             42 27 7:3 / /mnt/img ro - ext4 /dev/loop3 ro\n",
            &[full, full, full, full],
        );
        let subjects = derive(Some(&fs), &BTreeMap::new()).unwrap();
        let paths: Vec<_> = subjects.iter().map(|s| s.id.path.as_deref().unwrap()).collect();
        assert_eq!(paths, ["/var/lib/docker", "/mnt/img"]);
        assert_eq!(
            mount_of("/var/lib/docker/overlay2/bbb/merged/tmp/x (deleted)", &subjects),
            Some("/var/lib/docker")
        );
        let image = &subjects[1].facts;
        assert_eq!(image.get_f64("mount.used_ratio"), None);
        assert!(
            image
                .stated_reason("mount.used_ratio")
                .unwrap()
                .contains("read-only")
        );
    }

    #[test]
    fn a_mount_is_named_by_the_kernels_device_name_where_diskstats_has_it() {
        let fs = sample(
            "27 1 253:0 / /data rw - ext4 /dev/mapper/vg0-data rw\n\
             28 1 0:44 / /srv rw - btrfs /dev/vdc rw\n",
            &[],
        );
        let names = BTreeMap::from([("253:0".to_string(), "dm-0".to_string())]);
        let subjects = derive(Some(&fs), &names).unwrap();
        let device = |i: usize| subjects[i].id.device.as_deref();
        // As the kernel log says it ("EXT4-fs error (device dm-0)"), so the error joins the mount.
        assert_eq!(device(0), Some("dm-0"));
        // btrfs's anonymous MAJ:MIN is no block device: the mount source stands.
        assert_eq!(device(1), Some("vdc"));
    }

    #[test]
    fn an_old_snapshot_says_why_it_has_no_mounts() {
        let fs = FilesystemSample {
            not_recorded: true,
            ..FilesystemSample::default()
        };
        let (why, absent) = derive(Some(&fs), &BTreeMap::new()).unwrap_err();
        assert_eq!(why, "not in this older snapshot");
        assert!(!absent);
    }
}
