//! `osdoctor rules`: list, explain and check rule files; list the facts they may name.

use osdoctor::cli::RulesAction;
use osdoctor::rules::{Rule, catalog, load};

use super::{load_rules, write_out};

pub fn run(action: RulesAction) -> anyhow::Result<u8> {
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
            out.push_str(&explain(r, &rules));
        }
        RulesAction::Check { dir } => {
            let rules = load::load_dir(&dir)?;
            catalog::merged(rules.clone())?;
            out.push_str(&format!("{}: {} rules load\n", dir.display(), rules.len()));
        }
        RulesAction::Facts => {
            let mut b = tabled::builder::Builder::default();
            b.push_record(["fact", "unit", "needs", "meaning"]);
            for f in osdoctor::facts::catalog() {
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

fn explain(r: &Rule, rules: &[Rule]) -> String {
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
    if !r.explains.is_empty() {
        s.push_str("Explains (causal links: its finding is the cause of these):\n");
        for link in &r.explains {
            s.push_str(&format!(
                "  - {} (join: {})\n",
                link.effects.join(", "),
                link.join.name()
            ));
            if let Some(w) = &link.when {
                s.push_str(&format!("      when {}\n", w.describe()));
            }
            if let Some(w) = &link.effect_when {
                s.push_str(&format!("      when the effect has {}\n", w.describe()));
            }
        }
        s.push('\n');
    }
    if let Some(v) = &r.in_container {
        s.push_str(
            "Inside a container (judged on its limits and its own cgroup where it has the limit):
",
        );
        if let Some(m) = v.metric {
            s.push_str(&format!("  metric:   {m}\n"));
        }
        for (name, p) in [
            ("when", &v.when),
            ("info", &v.info),
            ("warn", &v.warn),
            ("crit", &v.crit),
            ("clear", &v.clear),
        ] {
            if let Some(p) = p {
                s.push_str(&format!("  {name:<8}  {}\n", p.describe()));
            }
        }
        s.push_str(&format!("  evidence: {}\n", v.evidence_facts().join(", ")));
        s.push_str(&format!("  summary:  {}\n", v.summary));
        s.push_str(&format!(
            "  cause:    {}\n",
            v.cause.replace('\n', "\n            ")
        ));
        for n in &v.next_steps {
            s.push_str(&format!("  next:     {n}\n"));
        }
        s.push_str(
            "  links:    not the rule's own: only the container's own cgroup and processes explain it\n",
        );
        s.push_str(&format!("  thresholds: {}\n\n", v.provenance));
    }
    let explained_by: Vec<String> = rules
        .iter()
        .filter(|c| c.explains.iter().any(|l| l.effects.contains(&r.id)))
        .map(|c| c.id.clone())
        .collect();
    if !explained_by.is_empty() {
        s.push_str(&format!("Explained by: {}\n\n", explained_by.join(", ")));
    }
    s.push_str(&format!(
        "Thresholds: {}\nDefined in: {}\n",
        r.provenance, r.origin
    ));
    s
}
