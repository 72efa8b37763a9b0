//! The one error type of the pure parsers: which line of the file was wrong, and how.
//!
//! Parsers do not know the path they were given (they take `&str`); the reader adds the path when it
//! records the failure in [`crate::collect::cgroup::FileProblem`].

/// Why a cgroupfs file did not parse: the 1-based line and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number in the file (1 for an empty file).
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

/// Parse a decimal counter, naming the offending word when it is not one.
pub(crate) fn parse_u64(word: &str, line: usize) -> Result<u64, ParseError> {
    word.parse::<u64>()
        .map_err(|_| ParseError::new(line, format!("expected a non-negative integer, found {word:?}")))
}

/// The only non-blank line of a single-value file, with its 1-based number.
///
/// Single-value files end in a newline; a second non-blank line means this is not the file we think.
pub(crate) fn single_line(text: &str) -> Result<(usize, &str), ParseError> {
    let mut found: Option<(usize, &str)> = None;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if found.is_some() {
            return Err(ParseError::new(
                i + 1,
                "expected a single value, found a second line",
            ));
        }
        found = Some((i + 1, line));
    }
    found.ok_or_else(|| ParseError::new(1, "empty file, expected a value"))
}
