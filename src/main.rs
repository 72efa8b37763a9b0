//! The `osdoctor` binary: parse the command line, call the library, map the verdict to the exit code.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use clap::error::ErrorKind;

use osdoctor::check::{self, CheckOptions, Source};
use osdoctor::cli::{CgroupArgs, CheckArgs, Cli, Command, KernelLogArgs, RulesAction, SnapshotArgs};
use osdoctor::report::{self, Format};
use osdoctor::rules::{Rule, catalog, load};
use osdoctor::units::format_value;

/// Exit code for usage errors, unreadable roots, rules that do not load: UNKNOWN, never CRITICAL.
const EXIT_UNKNOWN: u8 = 3;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                // clap exits 2 on usage errors; 2 means CRITICAL to a monitoring system.
                _ => ExitCode::from(EXIT_UNKNOWN),
            };
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::from(EXIT_UNKNOWN);
            }
            eprintln!("osdoctor: {e:#}");
            ExitCode::from(EXIT_UNKNOWN)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Check(args) => cmd_check(args),
        Command::Cgroup(args) => cmd_cgroup(args),
        Command::Snapshot(args) => cmd_snapshot(args),
        Command::KernelLog(args) => cmd_kernel_log(args),
        Command::Rules { action } => cmd_rules(action),
        Command::Schema => {
            write_out(report::schema::SCHEMA.as_bytes())?;
            Ok(0)
        }
    }
}

/// Write to stdout at once; a closed pipe (`| head`) ends quietly.
fn write_out(bytes: &[u8]) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

fn load_rules(extra: Option<&std::path::Path>) -> anyhow::Result<Vec<Rule>> {
    let extra = match extra {
        Some(dir) => load::load_dir(dir)?,
        None => Vec::new(),
    };
    Ok(catalog::merged(extra)?)
}

fn use_color() -> bool {
    io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn cmd_check(args: CheckArgs) -> anyhow::Result<u8> {
    let rules = load_rules(args.rules.as_deref())?;
    let source = Source::open(args.root.as_deref())?;
    let opts = CheckOptions {
        interval: Duration::from_secs_f64(args.interval),
        timeout: Duration::from_secs_f64(args.timeout),
        rules: &rules,
        state: args.state.as_deref(),
        min_severity: args.min_severity.into(),
        since: args.since.0,
        pids: &args.pids,
        redact: !args.no_redact,
    };
    let report = check::run(&source, &opts)?;
    let mut buf = Vec::new();
    report::renderer(args.format, args.format == Format::Table && use_color()).render(&report, &mut buf)?;
    write_out(&buf)?;
    Ok(report.status.exit_code())
}

fn cmd_kernel_log(args: KernelLogArgs) -> anyhow::Result<u8> {
    use osdoctor::kernel_report::{self, LogInput};
    let rules = catalog::builtin()?;
    let since = args.since.map(|s| s.0);
    let report = match &args.file {
        Some(path) => kernel_report::run(LogInput::File(path), since, &rules)?,
        None => {
            let source = Source::open(args.root.as_deref())?;
            kernel_report::run(LogInput::Source(&source), since, &rules)?
        }
    };
    let mut buf = Vec::new();
    match args.format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut buf, &report)?;
            buf.push(b'\n');
        }
        _ => kernel_report::render_table(&report, &mut buf)?,
    }
    write_out(&buf)?;
    Ok(report.status.exit_code())
}

fn cmd_snapshot(args: SnapshotArgs) -> anyhow::Result<u8> {
    let rules = catalog::builtin()?;
    let (meta, report) =
        osdoctor::snapshot::capture(&args.output, Duration::from_secs_f64(args.interval), &rules)
            .with_context(|| format!("snapshot -o {}", args.output.display()))?;
    let mut msg = format!(
        "osdoctor: wrote {} ({} sample{}, {:.1} s apart) from host {}; replay with: osdoctor check --root {}\n",
        args.output.display(),
        meta.samples.len(),
        if meta.samples.len() == 1 { "" } else { "s" },
        meta.interval_s,
        meta.hostname,
        args.output.display()
    );
    let found: Vec<String> = report
        .findings
        .iter()
        .map(|f| format!("{} ({})", f.rule, f.severity.name()))
        .collect();
    msg.push_str(&format!(
        "status when captured: {}{}\n",
        report.status.label(),
        if found.is_empty() {
            String::new()
        } else {
            format!(": {}", found.join(", "))
        }
    ));
    if !meta.unreadable.is_empty() {
        msg.push_str(&format!(
            "{} files could not be read and are absent from the snapshot (see its metadata).\n",
            meta.unreadable.len()
        ));
    }
    eprint!("{msg}");
    Ok(0)
}

fn cmd_rules(action: RulesAction) -> anyhow::Result<u8> {
    let mut out = String::new();
    match action {
        RulesAction::List { rules } => {
            let rules = load_rules(rules.as_deref())?;
            let mut b = tabled::builder::Builder::default();
            b.push_record(["id", "levels", "resource", "use", "subject", "title"]);
            for r in &rules {
                let levels: Vec<&str> = [("info", &r.info), ("warn", &r.warn), ("crit", &r.crit)]
                    .iter()
                    .filter_map(|(n, p)| p.as_ref().map(|_| *n))
                    .collect();
                b.push_record([
                    r.id.clone(),
                    levels.join("/"),
                    r.resource.clone(),
                    r.use_kind.name().to_string(),
                    r.subject.to_string(),
                    r.title.clone(),
                ]);
            }
            let mut t = b.build();
            t.with(tabled::settings::Style::blank());
            out.push_str(&format!("{t}\n"));
        }
        RulesAction::Explain { id, rules } => {
            let rules = load_rules(rules.as_deref())?;
            let Some(r) = rules.iter().find(|r| r.id == id) else {
                let close: Vec<&str> = rules
                    .iter()
                    .map(|r| r.id.as_str())
                    .filter(|r| r.split('.').next() == id.split('.').next())
                    .collect();
                anyhow::bail!(
                    "no rule {id:?}{}; `osdoctor rules list` shows them all",
                    if close.is_empty() {
                        String::new()
                    } else {
                        format!(" (rules nearby: {})", close.join(", "))
                    }
                );
            };
            out.push_str(&explain(r));
        }
        RulesAction::Check { dir } => {
            let rules = load::load_dir(&dir)?;
            catalog::merged(rules.clone())?;
            out.push_str(&format!("{}: {} rules load\n", dir.display(), rules.len()));
        }
        RulesAction::Facts => {
            let mut b = tabled::builder::Builder::default();
            b.push_record(["fact", "unit", "needs", "meaning"]);
            for f in osdoctor::facts::CATALOG {
                b.push_record([
                    f.name.to_string(),
                    f.unit.name().to_string(),
                    if f.rate { "2 samples" } else { "" }.to_string(),
                    f.help.to_string(),
                ]);
            }
            let mut t = b.build();
            t.with(tabled::settings::Style::blank());
            out.push_str(&format!("{t}\n"));
        }
    }
    write_out(out.as_bytes())?;
    Ok(0)
}

fn explain(r: &Rule) -> String {
    let mut s = format!("{}: {}\n\n", r.id, r.title);
    s.push_str(&format!(
        "  resource: {}   use: {}   subject: {}\n",
        r.resource,
        r.use_kind.name(),
        r.subject
    ));
    if let Some(m) = r.metric {
        s.push_str(&format!("  metric:   {m}\n"));
    }
    for (name, p) in [
        ("when", &r.when),
        ("info", &r.info),
        ("warn", &r.warn),
        ("crit", &r.crit),
        ("clear", &r.clear),
    ] {
        if let Some(p) = p {
            s.push_str(&format!("  {name:<8}  {}\n", p.describe()));
        }
    }
    s.push_str(&format!("  evidence: {}\n", r.evidence_facts().join(", ")));
    s.push_str(&format!("  summary:  {}\n\n", r.summary));
    s.push_str(&format!("Cause:\n  {}\n\n", r.cause.replace('\n', "\n  ")));
    if !r.next_steps.is_empty() {
        s.push_str("Next steps:\n");
        for n in &r.next_steps {
            s.push_str(&format!("  - {n}\n"));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "Thresholds: {}\nDefined in: {}\n",
        r.provenance, r.origin
    ));
    let _ = format_value;
    s
}

/// `osdoctor cgroup TARGET`: an unknown or ambiguous target is an error (exit 3) with the resolver's
/// message; otherwise the exit code is the verdict.
fn cmd_cgroup(args: CgroupArgs) -> anyhow::Result<u8> {
    let rules = load_rules(args.rules.as_deref())?;
    let source = Source::open(args.root.as_deref())?;
    let opts = osdoctor::inspect::InspectOptions {
        interval: Duration::from_secs_f64(args.interval),
        timeout: Duration::from_secs_f64(args.timeout),
        rules: &rules,
    };
    let report = osdoctor::inspect::run(&source, &args.target, &opts)?;
    let format = Format::from(args.format);
    let mut buf = Vec::new();
    osdoctor::inspect::render::render(&report, format, format == Format::Table && use_color(), &mut buf)?;
    write_out(&buf)?;
    Ok(report.status.exit_code())
}
