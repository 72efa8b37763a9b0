//! The JSON Schema of the `--format json` report (`osdoctor schema`).

/// JSON Schema (draft 2020-12) for [`super::Report`].
pub const SCHEMA: &str = include_str!("schema.json");
