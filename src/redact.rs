//! Secrets out of command lines before they are shown or written to a snapshot.
//!
//! Redacted, argument by argument: the value of `password=`, `passwd=`, `pwd=`, `token=`, `key=`
//! (and `api_key=`, `secret_key=`, ...), `secret=`, `credentials=`; the argument after `--password`,
//! `--token`, `--secret`, `--key`-style flags; everything after `Authorization:` (curl `-H` headers);
//! AWS access key ids (`AKIA` + 16); and the password in `scheme://user:password@host` URLs.
//! Redaction errs on the side of hiding: `--sort-key=name` loses its value too.

use std::sync::LazyLock;

use regex::Regex;

/// What replaces a secret.
pub const MASK: &str = "[REDACTED]";

static NAME_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)((?:^|[^a-z0-9])(?:[a-z0-9_]*(?:password|passwd|pwd|token|secret|key|credentials?))["']?\s*[=:]\s*["']?)([^\s&;,"']+)"#)
        .expect("regex")
});
static AUTH_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)(authorization\s*:\s*).+").expect("regex"));
static AWS_KEY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"AKIA[0-9A-Z]{16}").expect("regex"));
static URL_PASSWORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(://[^:/@\s]+:)[^@/\s]+@").expect("regex"));
static SECRET_FLAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^--?[a-z0-9_-]*(password|passwd|token|secret|api-?key|access-?key|secret-?key|auth)$")
        .expect("regex")
});

/// Redact one argument.
pub fn redact_arg(arg: &str) -> String {
    let s = AUTH_HEADER.replace_all(arg, format!("${{1}}{MASK}"));
    let s = NAME_VALUE.replace_all(&s, format!("${{1}}{MASK}"));
    let s = URL_PASSWORD.replace_all(&s, format!("${{1}}{MASK}@"));
    AWS_KEY.replace_all(&s, MASK).into_owned()
}

/// Redact a list of arguments (a flag such as `--password` hides the argument after it).
pub fn redact_args(args: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut hide_next = false;
    for a in args {
        if hide_next {
            out.push(MASK.to_string());
            hide_next = false;
            continue;
        }
        hide_next = SECRET_FLAG.is_match(a);
        out.push(redact_arg(a));
    }
    out
}

/// Redact a command line already joined with spaces.
pub fn redact(cmdline: &str) -> String {
    // Whole first (a JSON argument holds spaces), then argument by argument (flags hide what follows).
    let whole = redact_arg(cmdline);
    let args: Vec<&str> = whole.split(' ').collect();
    redact_args(&args).join(" ")
}

/// /proc/PID/cmdline (NUL-separated) as one line, arguments separated by spaces.
pub fn cmdline_text(bytes: &[u8]) -> String {
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    String::from_utf8_lossy(trimmed)
        .replace('\0', " ")
        .trim()
        .to_string()
}

/// /proc/PID/cmdline bytes with every argument redacted, still NUL-separated: what a snapshot records.
pub fn cmdline_bytes(bytes: &[u8]) -> Vec<u8> {
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    let text = String::from_utf8_lossy(trimmed);
    let args: Vec<&str> = text.split('\0').collect();
    let mut out = redact_args(&args).join("\0").into_bytes();
    if bytes.ends_with(&[0]) {
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_value_secrets() {
        assert_eq!(
            redact("postgres -c password=hunter2 -D /data"),
            "postgres -c password=[REDACTED] -D /data"
        );
        assert_eq!(
            redact("app --db-password=x1 --port=80"),
            "app --db-password=[REDACTED] --port=80"
        );
        assert_eq!(
            redact("run TOKEN=abc api_key=zz"),
            "run TOKEN=[REDACTED] api_key=[REDACTED]"
        );
        assert_eq!(
            redact("x --secret=s passwd=p"),
            "x --secret=[REDACTED] passwd=[REDACTED]"
        );
        assert_eq!(
            redact("jdbc:x?user=a&password=b&ssl=1"),
            "jdbc:x?user=a&password=[REDACTED]&ssl=1"
        );
    }

    #[test]
    fn json_style_secrets() {
        assert_eq!(
            redact(r#"--env {"AWS_SECRET_ACCESS_KEY": "abc/def", "HOME": "/root"}"#),
            r#"--env {"AWS_SECRET_ACCESS_KEY": "[REDACTED]", "HOME": "/root"}"#
        );
    }

    #[test]
    fn flags_headers_keys_and_urls() {
        assert_eq!(
            redact("mysql --password hunter2 -h db"),
            "mysql --password [REDACTED] -h db"
        );
        assert_eq!(
            redact_args(&["curl", "-H", "Authorization: Bearer abc.def", "http://x"]),
            vec!["curl", "-H", "Authorization: [REDACTED]", "http://x"]
        );
        assert_eq!(redact("aws AKIAIOSFODNN7EXAMPLE s3 ls"), "aws [REDACTED] s3 ls");
        assert_eq!(
            redact("psql postgres://app:s3cret@db:5432/x"),
            "psql postgres://app:[REDACTED]@db:5432/x"
        );
        // Nothing secret: unchanged.
        assert_eq!(redact("sleep 100"), "sleep 100");
        assert_eq!(redact("nginx -g daemon off;"), "nginx -g daemon off;");
    }

    #[test]
    fn nul_separated_form_keeps_its_shape() {
        let raw = b"mysqld\0--password=p\0--user=mysql\0";
        assert_eq!(
            cmdline_bytes(raw),
            b"mysqld\0--password=[REDACTED]\0--user=mysql\0".to_vec()
        );
        assert_eq!(cmdline_text(raw), "mysqld --password=p --user=mysql");
        assert_eq!(cmdline_text(b""), "");
    }
}
