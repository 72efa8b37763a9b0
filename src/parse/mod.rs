//! Pure parsers: bytes or text in, types out, one module per kernel path, in the manner of
//! procfs-core. Nothing here opens a file or knows [`crate::root::Root`]; the collectors read and call
//! these. Where procfs-core already parses a file (/proc/stat, meminfo, vmstat, loadavg, diskstats,
//! mountinfo lines), the collectors call it instead.
//!
//! - [`pressure`]: /proc/pressure/* and cgroup `*.pressure` (PSI).
//! - [`diskstats`]: /proc/diskstats (procfs-core's line parser), in bytes and milliseconds.
//! - [`filesystems`]: the filesystems of mountinfo worth judging, and the recorded `statvfs()` file.
//! - [`net_dev`]: /proc/net/dev (procfs-core's parser), /proc/net/route's default route, the
//!   /sys/class/net/IFACE attributes.
//! - [`net_snmp`]: /proc/net/snmp and /proc/net/netstat counters by section and name.
//! - [`net_sockstat`]: /proc/net/sockstat, tcp_mem and /proc/net/softnet_stat.
//! - [`tcp_ports`]: /proc/net/tcp{,6} tallied for the ephemeral ports in use.
//! - [`numa`]: /sys/devices/system/node/nodeN/{meminfo,numastat,cpulist,distance} and /proc/PID/numa_maps.
//! - [`proc_pid`]: the fields of /proc/PID/status and /proc/PID/limits a scan needs.
//! - [`proc_net_tcp`]: /proc/net/tcp{,6} listening sockets, their addresses and accept queues.
//! - [`sock_diag`]: the inet_diag request for LISTEN sockets and its answer (their backlog), and the
//!   record of it a snapshot keeps.
//! - [`cgroup`]: every cgroup v1/v2 interface file, the cgroup mount table, Kubernetes paths.
//! - [`kernel_log`]: /dev/kmsg records and saved kernel logs into kernel events.
//! - [`sos`]: the sosreport command outputs osdoctor reads (`ps` tables, `sysctl -a`, `df`, `date`, `lsof`).

pub mod cgroup;
pub mod diskstats;
pub mod fd_table;
pub mod filesystems;
pub mod kernel_log;
pub mod kubelet_logs;
pub mod net_dev;
pub mod net_snmp;
pub mod net_sockstat;
pub mod numa;
pub mod pressure;
pub mod proc_net_tcp;
pub mod proc_pid;
pub mod procfs_guard;
pub mod sock_diag;
pub mod sos;
pub mod tcp_ports;
