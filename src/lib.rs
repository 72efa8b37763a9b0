//! osdoctor: Linux production diagnostics over the kernel's own accounting.
//!
//! Data flows one way: [`root::Root`] -> [`collect`] -> [`sample::Sample`] -> [`facts::Facts`] ->
//! [`rules`] -> [`rules::finding::Finding`] -> [`report`] renderers.

pub mod cli;
pub mod clock;
pub mod collect;
pub mod coverage;
pub mod facts;
pub mod parse;
pub mod pipeline;
pub mod redact;
pub mod report;
pub mod root;
pub mod rules;
pub mod sample;
pub mod state;
pub mod units;
