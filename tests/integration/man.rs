//! man/*.1 are generated from the clap definitions in src/cli.rs plus the hand-written sections in
//! man/sections/PAGE.roff (EXIT STATUS, ENVIRONMENT, FILES, EXAMPLES, SEE ALSO). This test fails when
//! they are stale; `OSDOCTOR_UPDATE_MAN=1 cargo test man_pages` rewrites them.

use clap::CommandFactory;

use crate::util::*;

/// Roff text: a hyphen is `\-` (a plain `-` may print as a typographic hyphen, which cannot be typed).
fn roff(text: &str) -> String {
    text.replace('\\', "\\\\").replace('-', "\\-")
}

/// The command line as it is typed: `osdoctor check [--root DIR] [--interval SECS] ...`.
fn synopsis(typed: &str, cmd: &clap::Command) -> String {
    let mut parts = vec![format!("\\fB{}\\fR", roff(typed))];
    for arg in cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if id == "help" || id == "version" {
            continue;
        }
        let value = arg
            .get_value_names()
            .and_then(|v| v.first())
            .map(|v| v.to_string())
            .unwrap_or_else(|| id.to_uppercase());
        let repeated = matches!(arg.get_action(), clap::ArgAction::Append);
        let mut text = match (arg.get_long(), arg.get_short()) {
            (None, None) => format!("\\fI{}\\fR", roff(&value)),
            (long, short) => {
                let flag = match long {
                    Some(l) => format!("\\fB\\-\\-{}\\fR", roff(l)),
                    None => format!("\\fB\\-{}\\fR", short.unwrap_or('?')),
                };
                if arg.get_action().takes_values() {
                    format!("{flag} \\fI{}\\fR", roff(&value))
                } else {
                    flag
                }
            }
        };
        if repeated {
            text.push_str("...");
        }
        parts.push(if arg.is_required_set() {
            text
        } else {
            format!("[{text}]")
        });
    }
    let subcommands: Vec<&clap::Command> = cmd.get_subcommands().filter(|s| s.get_name() != "help").collect();
    let mut lines = Vec::new();
    if subcommands.is_empty() {
        lines.push(parts.join(" "));
    } else {
        // One line per subcommand, as typed.
        for sub in subcommands {
            let typed = format!("{typed} {}", sub.get_name());
            lines.push(
                synopsis(&typed, sub)
                    .trim_start_matches(".SH SYNOPSIS\n")
                    .to_string(),
            );
        }
    }
    format!(".SH SYNOPSIS\n{}\n", lines.join("\n.br\n"))
}

/// A page: the generated NAME, the typed SYNOPSIS, DESCRIPTION, OPTIONS (and the subcommands), the
/// hand-written sections, VERSION.
fn render(page: &str, typed: &str, cmd: clap::Command) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut buf = Vec::new();
    man.render_title(&mut buf).unwrap();
    man.render_name_section(&mut buf).unwrap();
    buf.extend_from_slice(synopsis(typed, &cmd).as_bytes());
    man.render_description_section(&mut buf).unwrap();
    man.render_options_section(&mut buf).unwrap();
    if cmd.has_subcommands() {
        man.render_subcommands_section(&mut buf).unwrap();
    }
    let sections = repo().join("man/sections").join(format!("{page}.roff"));
    let hand = std::fs::read(&sections).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (every page has its hand-written sections)",
            sections.display()
        )
    });
    buf.extend_from_slice(&hand);
    man.render_version_section(&mut buf).unwrap();
    buf
}

fn pages() -> Vec<(String, Vec<u8>)> {
    let top = osdoctor::cli::Cli::command();
    top.clone().build();
    let mut pages = vec![(
        "osdoctor.1".to_string(),
        render("osdoctor", "osdoctor", top.clone()),
    )];
    for sub in top.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("osdoctor-{}", sub.get_name());
        let typed = format!("osdoctor {}", sub.get_name());
        let cmd = sub
            .clone()
            .name(name.clone())
            .version(top.get_version().unwrap_or_default().to_string());
        pages.push((format!("{name}.1"), render(&name, &typed, cmd)));
    }
    pages
}

#[test]
fn man_pages_are_generated_from_the_cli() {
    let dir = repo().join("man");
    let update = std::env::var_os("OSDOCTOR_UPDATE_MAN").is_some();
    let mut stale = Vec::new();
    for (file, text) in &pages() {
        let path = dir.join(file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, text).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(text.as_slice()) {
            stale.push(file.clone());
        }
    }
    assert!(
        stale.is_empty(),
        "stale man pages {stale:?}: run OSDOCTOR_UPDATE_MAN=1 cargo test man_pages"
    );
}

#[test]
fn every_page_has_the_sections_a_user_expects_and_every_flag_of_its_help() {
    let mut top = osdoctor::cli::Cli::command();
    top.build();
    for (file, text) in pages() {
        let text = String::from_utf8(text).unwrap();
        for section in [
            "NAME",
            "SYNOPSIS",
            "DESCRIPTION",
            "EXIT STATUS",
            "ENVIRONMENT",
            "FILES",
            "EXAMPLES",
            "SEE ALSO",
        ] {
            assert!(
                text.contains(&format!(".SH \"{section}\"")) || text.contains(&format!(".SH {section}\n")),
                "{file}: no {section}"
            );
        }
        let name = file.trim_end_matches(".1");
        let mut cmd = match name.strip_prefix("osdoctor-") {
            Some(sub) => top.find_subcommand(sub).unwrap().clone(),
            None => top.clone(),
        };
        // Built, as --help shows it: with --help and --version.
        cmd.build();
        for arg in cmd.get_arguments().filter_map(|a| a.get_long()) {
            assert!(
                text.contains(&format!("\\-\\-{}", roff(arg))),
                "{file}: --{arg} missing"
            );
        }
        // The synopsis is the command as typed, not the page's name.
        let typed = name.replacen("osdoctor-", "osdoctor ", 1);
        assert!(
            text.contains(&format!(".SH SYNOPSIS\n\\fB{}", roff(&typed))),
            "{file}"
        );
    }
}

/// The worked example of osdoctor-rules(5), as the page prints it.
fn rules_page_example() -> String {
    let page = std::fs::read_to_string(repo().join("man/osdoctor-rules.5")).unwrap();
    let example = &page[page.find(".SH EXAMPLE").expect("an EXAMPLE section")..];
    let start = example.find(".nf\n").unwrap() + 4;
    let end = example.find(".fi\n").unwrap();
    example[start..end].replace("\\-", "-")
}

#[test]
fn the_rule_format_page_has_its_sections_and_its_example_loads_and_fires_on_its_fixture() {
    let page = std::fs::read_to_string(repo().join("man/osdoctor-rules.5")).unwrap();
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "\"RULE FIELDS\"",
        "PREDICATES",
        "\"CAUSAL LINKS\"",
        "ERRORS",
        "EXAMPLE",
        "\"SEE ALSO\"",
    ] {
        assert!(page.contains(&format!(".SH {section}\n")), "no {section}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("site.toml"), rules_page_example()).unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let (code, out, err) = run(osdoctor().args(["rules", "check", dir_arg]));
    assert_eq!(code, 0, "{out}{err}");
    let (_, report) = check_json(&[
        "--rules",
        dir_arg,
        "--root",
        fixture("fd-near-limit").to_str().unwrap(),
    ]);
    let f = finding(&report, "site.fd_budget").expect("the example rule fires");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["subject"]["pid"], 18964);
    assert_eq!(evidence(f, "proc.fd.open"), 245.0);
    // It explains nothing here: the process holds a sliver of the host's handles.
    let story = report["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["cause"]["rule"] == "site.fd_budget")
        .unwrap();
    assert_eq!(story["effects"], serde_json::json!([]));
}

#[test]
fn the_errors_the_rule_format_page_lists_are_errors() {
    let example = rules_page_example();
    let check = |files: &[(&str, String)]| {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        run(osdoctor().args(["rules", "check", dir.path().to_str().unwrap()]))
    };
    // Two rules with one id in the directory.
    let (code, _, err) = check(&[("a.toml", example.clone()), ("b.toml", example.clone())]);
    assert_eq!(code, 3);
    assert!(
        err.contains("b.toml:3:1: rule site.fd_budget is also defined in"),
        "{err}"
    );
    // A threshold whose unit the fact does not accept.
    let (code, _, err) = check(&[("a.toml", example.replace("ge = 200 }", "ge = \"200MiB\" }"))]);
    assert_eq!(code, 3);
    assert!(
        err.contains("a.toml:9:15: proc.fd.open: a size does not fit a fact measured in count"),
        "{err}"
    );
    // A placeholder naming an unknown fact.
    let (code, _, err) = check(&[(
        "a.toml",
        example.replace("{proc.fd.open} open", "{proc.fd.nope} open"),
    )]);
    assert_eq!(code, 3);
    assert!(err.contains("unknown fact \"proc.fd.nope\""), "{err}");
    // A join that does not fit the effect's subject.
    let (code, _, err) = check(&[(
        "a.toml",
        example.replace("join = \"host\"", "join = \"same_cgroup\""),
    )]);
    assert_eq!(code, 3);
    assert!(
        err.contains("does not apply to fd.system_near_limit, whose subject is host"),
        "{err}"
    );
}

/// The code blocks of README's "Writing a rule", in order: (language, text).
fn readme_guide_blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("### Writing a rule").expect("the guide");
    let end = start + readme[start..].find("\n## ").unwrap();
    let mut blocks = Vec::new();
    let mut rest = &readme[start..end];
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let (lang, body) = after.split_once('\n').unwrap();
        let close = body.find("```").unwrap();
        blocks.push((lang.to_string(), body[..close].to_string()));
        rest = &body[close + 3..];
    }
    blocks
}

#[test]
fn the_readme_guide_to_writing_a_rule_works_as_written() {
    let blocks = readme_guide_blocks();
    let (_, rule) = blocks.iter().find(|(lang, _)| lang == "toml").expect("the rule");
    // One example, the same in the guide and in osdoctor-rules(5).
    assert_eq!(rule, &rules_page_example());
    let (code, facts, _) = run(osdoctor().args(["rules", "facts"]));
    assert_eq!(code, 0);
    assert!(
        facts.lines().any(|l| l.trim_start().starts_with("proc.fd.open ")),
        "step 1"
    );

    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site-rules");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("site.toml"), rule).unwrap();
    let site_arg = site.to_str().unwrap();
    // Step 3, as written (with the directory made above).
    let commands: Vec<Vec<String>> = blocks
        .iter()
        .filter(|(lang, _)| lang == "sh")
        .flat_map(|(_, text)| text.lines().map(str::to_string).collect::<Vec<_>>())
        .filter(|l| l.starts_with("osdoctor "))
        .map(|l| {
            l.split_whitespace()
                .skip(1)
                .map(|w| {
                    if w == "site-rules" {
                        site_arg.to_string()
                    } else {
                        w.to_string()
                    }
                })
                .collect()
        })
        .collect();
    assert_eq!(commands.len(), 3, "{commands:?}");
    for args in &commands[..2] {
        let (code, out, err) = run(osdoctor().args(args));
        assert_eq!(code, 0, "osdoctor {args:?}: {out}{err}");
    }
    // Step 4: the replay shows the line the guide quotes.
    let mut replay = commands[2].clone();
    let root = replay.iter().position(|w| w == "--root").unwrap() + 1;
    replay[root] = fixture("fd-near-limit").to_str().unwrap().to_string();
    let (_, out, _) = run(osdoctor().args(&replay).env("NO_COLOR", "1"));
    assert!(
        out.lines().any(|l| l.starts_with("WARN  site.fd_budget")
            && l.ends_with(
                "pid 18964 (loadgen): 245 open descriptors, over the budget of 200 (soft limit 256)"
            )),
        "{out}"
    );
    // And a snapshot taken while a process holds 240 fds, as step 4 says, fires it too.
    let _lock = machine_lock();
    let held = Load::start(&["fds", "240", "--secs", "20"]);
    let snap = dir.path().join("fd-leak");
    let (code, _, err) = run(osdoctor().args(["snapshot", "-o", snap.to_str().unwrap(), "--interval", "0"]));
    assert_eq!(code, 0, "{err}");
    let (_, report) = check_json(&[
        "--rules",
        site_arg,
        "--root",
        snap.to_str().unwrap(),
        "--interval",
        "0",
    ]);
    let fired = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["rule"] == "site.fd_budget" && f["subject"]["pid"] == held.pid());
    assert!(fired, "{report:#}");
}
