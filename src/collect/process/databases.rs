//! Which processes are databases: by comm, or for `java` by the main class on its command line (never
//! read of a task in D state).

use super::types::ProcSample;
use crate::root::Root;

/// Native databases by comm; Java ones by their main class, which only the command line shows.
const DATABASES: &[&str] = &[
    "postgres",
    "postmaster",
    "mysqld",
    "mariadbd",
    "mongod",
    "redis-server",
];
const JAVA_DATABASES: &[(&str, &str)] = &[
    ("org.apache.cassandra", "cassandra"),
    ("kafka.Kafka", "kafka"),
    ("org.elasticsearch", "elasticsearch"),
    ("org.opensearch", "opensearch"),
];

pub(super) fn database_of(root: &Root, p: &ProcSample) -> Option<String> {
    if p.kthread || p.is_zombie() {
        return None;
    }
    if DATABASES.contains(&p.comm.as_str()) {
        return Some(p.comm.clone());
    }
    if p.comm != "java" || p.state == 'D' {
        return None;
    }
    let path = format!("/proc/{}/cmdline", p.pid);
    let cmd = root.read_recorded_as(&path, crate::redact::cmdline_bytes).ok()?;
    let cmd = String::from_utf8_lossy(&cmd);
    JAVA_DATABASES
        .iter()
        .find(|(class, _)| cmd.contains(class))
        .map(|(_, name)| name.to_string())
}
