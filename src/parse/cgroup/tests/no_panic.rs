//! No input makes a parser panic: arbitrary text, and text built from the pieces real files are made
//! of (keys, numbers, `max`, separators), which reaches deeper into each parser than random bytes.

use proptest::prelude::*;

use crate::parse::cgroup::*;

/// Run every pure entry point on `text`; results are ignored, only panics matter.
pub(crate) fn everything(text: &str) {
    let _ = flat_keyed::parse(text);
    let _ = single_value::parse_value(text);
    let _ = single_value::parse_limit(text);
    let _ = cpu_max::parse(text);
    let _ = cpu_max::parse_cfs_quota_us(text);
    let _ = io_stat::parse(text);
    let _ = cpuacct::parse_usage_ns(text);
    let _ = cpuacct::parse_usage_percpu_ns(text);
    let _ = cpuacct::parse_stat(text);
    let _ = cgroup_procs::parse(text);
    let _ = memory_stat::parse_v2(text);
    let _ = memory_stat::parse_v1(text);
    let _ = memory_events::parse(text);
    let _ = memory_events::parse_swap(text);
    let _ = memory_oom_control::parse(text);
    let _ = cpu_stat::parse_v2(text);
    let _ = cpu_stat::parse_v1(text);
    let _ = cgroup_events::parse(text);
    let _ = cgroup_stat::parse(text);
    let _ = pids_events::parse(text);
    let _ = process_cgroups(text);
    let layout = detect_from_text(text);
    let _ = crate::parse::cgroup::layout::detect_from_proc_mounts(text);
    let _ = layout.dirs_for_path(text);
    let _ = crate::parse::cgroup::layout::unescape_octal(text);
    let _ = identify(text);
    for line in text.lines() {
        let _ = identify(line);
        let _ = kubernetes::pod_uid_of_component(line);
        let _ = kubernetes::container_of_component(line);
    }
}

/// Words cgroupfs files are made of.
fn cgroupish() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("max".to_string()),
        Just("-1".to_string()),
        Just("18446744073709551616".to_string()),
        Just("9223372036854771712".to_string()),
        Just("8:16".to_string()),
        Just("rbytes=".to_string()),
        Just("0::".to_string()),
        Just(" - cgroup2 cgroup2 ".to_string()),
        Just(" - cgroup cgroup rw,memory".to_string()),
        Just("\\040".to_string()),
        Just("\\".to_string()),
        Just("pod".to_string()),
        Just("kubepods-burstable-pod".to_string()),
        Just("cri-containerd-".to_string()),
        Just(".scope".to_string()),
        Just(".slice".to_string()),
        Just("/".to_string()),
        Just(":".to_string()),
        Just("=".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just(" (deleted)".to_string()),
        "[0-9]{1,25}",
        "[0-9a-f_-]{1,70}",
        "[a-z_.]{1,20}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(word, 0..40).prop_map(|w| w.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        everything(&text);
    }

    #[test]
    fn cgroup_shaped_text_never_panics(text in cgroupish()) {
        everything(&text);
    }
}
