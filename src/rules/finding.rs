//! A finding: what a rule found on a subject, with its evidence.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::{Severity, UseKind};
use crate::facts::{SubjectId, Value};

/// One named evidence value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub value: Value,
    pub unit: &'static str,
    /// The value as a human reads it ("93.2%", "1.9 GiB").
    pub display: String,
}

impl Evidence {
    /// The evidence of fact `name` with `value`, in the fact's unit.
    pub fn of(name: &str, value: Value) -> Evidence {
        let unit = crate::facts::lookup(name)
            .map(|d| d.unit)
            .unwrap_or(crate::units::Unit::Number);
        let display = match &value {
            Value::Num(n) => crate::units::format_value(*n, unit),
            Value::Text(t) => t.clone(),
        };
        Evidence {
            value,
            unit: unit.name(),
            display,
        }
    }
}

/// One finding, as the JSON report's `findings` items.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub rule: String,
    pub title: String,
    pub severity: Severity,
    pub resource: String,
    #[serde(rename = "use")]
    pub use_kind: UseKind,
    pub subject: SubjectId,
    pub summary: String,
    /// Evidence in the rule's order: the metric first.
    #[serde(serialize_with = "ordered_map")]
    pub evidence: Vec<(String, Evidence)>,
    pub cause: String,
    pub next_steps: Vec<String>,
    /// `check`: when it was first seen (RFC 3339): the first run of the `--state` file that had it
    /// (for a kernel event, that reported one of its events), or this run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    /// `check`: true when no earlier run had it (for a kernel event: when one of its events is new).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
    /// The rule's metric on this subject (the Prometheus sample value).
    #[serde(skip)]
    pub value: Option<f64>,
    /// Kept at warning by hysteresis (`--state`): below the warn level, not yet at the clear level.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// Which of its kind's subjects in the facts it is about (`None` for the host): two kernel
    /// events can share a subject key (two oopses on the host), not a position.
    #[serde(skip)]
    pub subject_index: Option<usize>,
}

fn ordered_map<S: Serializer>(v: &[(String, Evidence)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(v.len()))?;
    for (k, e) in v {
        map.serialize_entry(k, e)?;
    }
    map.end()
}

/// A rule that could not be evaluated, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotEvaluated {
    pub rule: String,
    pub reason: String,
    /// The host does not have the resource (no disk that did I/O, no filesystem): the USE grid says
    /// "absent" rather than "not evaluated".
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub absent: bool,
}
