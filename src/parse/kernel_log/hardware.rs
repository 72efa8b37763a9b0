//! Recognisers of hardware errors: machine checks, firmware-first (CPER/GHES) reports and EDAC
//! memory errors, with the further lines of one report.

use std::sync::LazyLock;

use regex::Regex;

use super::events::HardwareError;
use super::helpers::{group, number, rx};

// Hardware errors (arch/x86/kernel/cpu/mce, drivers/acpi/apei/ghes.c, drivers/edac).
static MCE_BANK: LazyLock<Regex> =
    LazyLock::new(|| rx(r"CPU ([0-9]+): Machine Check(?: Exception)?: [0-9a-fA-F]+ Bank ([0-9]+)"));
static CPER_PREFIX: LazyLock<Regex> = LazyLock::new(|| rx(r"^\{([0-9]+)\}\[Hardware Error\]: "));
static CPER_SEVERITY: LazyLock<Regex> = LazyLock::new(|| rx(r"event severity: (\w+)"));
static EDAC: LazyLock<Regex> =
    LazyLock::new(|| rx(r"^EDAC (?:\S+ )?(MC[0-9]+): (?:([0-9]+) )?(CE|UE)\b\s*(.*)$"));

pub(super) fn hardware_error(text: &str) -> Option<HardwareError> {
    let mut hw = HardwareError {
        source: "other".to_string(),
        severity: hardware_severity(text),
        cpu: None,
        bank: None,
        count: None,
        controller: None,
        detail: text.to_string(),
        lines: 1,
    };
    if let Some(c) = EDAC.captures(text) {
        hw.source = "edac".to_string();
        hw.controller = Some(group(&c, 1).to_string());
        hw.count = number(&c, 2).or(Some(1));
        hw.severity = Some(
            if group(&c, 3) == "UE" {
                "uncorrected"
            } else {
                "corrected"
            }
            .to_string(),
        );
        hw.detail = group(&c, 4).to_string();
        return Some(hw);
    }
    if text.starts_with("EDAC ") {
        return None;
    }
    if text.starts_with("mce: ") || text.starts_with("Machine check events logged") {
        hw.source = "mce".to_string();
    } else if CPER_PREFIX.is_match(text) {
        hw.source = "cper".to_string();
    }
    if let Some((_, detail)) = text.split_once("[Hardware Error]: ") {
        hw.detail = detail.to_string();
    }
    if let Some(c) = MCE_BANK.captures(text) {
        hw.cpu = number(&c, 1);
        hw.bank = number(&c, 2);
    }
    Some(hw)
}

/// What every line of one hardware report starts with: `mce: [Hardware Error]: `, `{3}[Hardware Error]: `.
pub(super) fn hardware_prefix(text: &str, source: &str) -> String {
    match text.find("[Hardware Error]: ") {
        Some(at) if source != "edac" => text[..at + "[Hardware Error]: ".len()].to_string(),
        // EDAC lines are one event each; a prefix that no line starts with ends the report.
        _ => "\u{0}".to_string(),
    }
}

fn hardware_severity(text: &str) -> Option<String> {
    if let Some(c) = CPER_SEVERITY.captures(text) {
        return Some(group(&c, 1).to_ascii_lowercase());
    }
    if text.contains("Uncorrected") || text.contains("uncorrected") {
        return Some("uncorrected".to_string());
    }
    if text.contains("Corrected") || text.contains("corrected error") {
        return Some("corrected".to_string());
    }
    None
}

/// A further line of the report `hw` started, printed right after it with the same prefix.
pub(super) fn continue_report(hw: &mut HardwareError, text: &str) {
    hw.lines += 1;
    hw.severity = hw.severity.take().or_else(|| hardware_severity(text));
    if let Some(c) = MCE_BANK.captures(text) {
        hw.cpu = hw.cpu.or(number(&c, 1));
        hw.bank = hw.bank.or(number(&c, 2));
    }
}
