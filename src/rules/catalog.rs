//! The rules shipped in the binary (rules/*.toml), and merging with `--rules DIR`.

use super::Rule;
use super::load::{LoadError, check_links, parse_rules};

/// Every built-in rule file, embedded at build time.
pub const BUILTIN: &[(&str, &str)] = &[
    ("rules/cpu.toml", include_str!("../../rules/cpu.toml")),
    ("rules/memory.toml", include_str!("../../rules/memory.toml")),
    ("rules/limits.toml", include_str!("../../rules/limits.toml")),
    ("rules/io.toml", include_str!("../../rules/io.toml")),
    ("rules/disk.toml", include_str!("../../rules/disk.toml")),
    (
        "rules/filesystem.toml",
        include_str!("../../rules/filesystem.toml"),
    ),
    ("rules/network.toml", include_str!("../../rules/network.toml")),
    ("rules/numa.toml", include_str!("../../rules/numa.toml")),
    ("rules/cgroup.toml", include_str!("../../rules/cgroup.toml")),
    ("rules/kernel.toml", include_str!("../../rules/kernel.toml")),
    ("rules/process.toml", include_str!("../../rules/process.toml")),
];

/// The built-in rules.
pub fn builtin() -> Result<Vec<Rule>, LoadError> {
    let mut rules = Vec::new();
    for (name, text) in BUILTIN {
        rules.extend(parse_rules(name, text)?);
    }
    check_links(&rules)?;
    Ok(rules)
}

/// Built-ins, with the rules of `extra` replacing those of the same id and adding new ones.
pub fn merged(extra: Vec<Rule>) -> Result<Vec<Rule>, LoadError> {
    let mut rules = builtin()?;
    for r in extra {
        match rules.iter_mut().find(|b| b.id == r.id) {
            Some(slot) => *slot = r,
            None => rules.push(r),
        }
    }
    check_links(&rules)?;
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_file_is_embedded_and_loads() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| format!("rules/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
        let rules = builtin().unwrap();
        let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), rules.len(), "duplicate rule ids across files");
    }

    #[test]
    fn next_steps_name_only_facts_and_subject_fields() {
        // A shell snippet with braces (awk '{print $2}') would render as `?`.
        for r in builtin().unwrap() {
            for step in &r.next_steps {
                for name in crate::rules::load::placeholders(step) {
                    let ok = crate::rules::load::names_subject(name) || crate::facts::lookup(name).is_some();
                    assert!(ok, "{}: next step {step:?} has placeholder {{{name}}}", r.id);
                }
            }
        }
    }
}
