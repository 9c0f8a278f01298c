//! Where log lines go for a command: stderr, as text or JSON; in text, every field value and
//! message with its control characters escaped, so no caller can write a line of its own.
//!
//! Webhook callers control much of what gets logged (event ids from the path, header values,
//! bodies, texts relayed by the sandbox's plain-words log). A raw newline in any of them would
//! let a stranger forge a whole log line (`…\n2026-… INFO hookbot::admin: the API key was
//! rotated`), and ESC or NUL would let them repaint a terminal or cut a line short. The escaping
//! is done once, in the text formatter's field visitor, so no call site can forget it; JSON
//! lines are escaped by JSON itself.

use std::fmt::{self, Write as _};
use std::io::IsTerminal;
use std::path::Path;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Logs on stderr: `format` (from `--log-format`), else `[log] format` of the config file at
/// `config_path` if it loads, else text. `RUST_LOG` overrides `default_filter`.
pub fn init_logs(config_path: &Path, format: Option<LogFormat>, default_filter: &str) {
    let format = format.unwrap_or_else(|| {
        Config::load(config_path, false)
            .map(|config| config.log.format)
            .unwrap_or_default()
    });
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter)),
        );
    match format {
        LogFormat::Json => logs.json().flatten_event(true).init(),
        LogFormat::Text => logs
            .fmt_fields(EscapedFields)
            .with_ansi(std::io::stderr().is_terminal())
            .init(),
    }
}

/// The text format's fields (the message first, then `name=value`, as tracing-subscriber's
/// default writes them), with every control character escaped: see the module's comment.
#[derive(Debug, Default, Clone, Copy)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = EscapingVisitor {
            writer,
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct EscapingVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl EscapingVisitor<'_> {
    fn write(&mut self, field: &Field, value: &dyn fmt::Debug) -> fmt::Result {
        let name = field.name();
        // The `log` crate's bridge adds these; the default formatter leaves them out too.
        if name.starts_with("log.") {
            return Ok(());
        }
        if !std::mem::take(&mut self.first) {
            self.writer.write_char(' ')?;
        }
        if name != "message" {
            write!(self.writer, "{}=", name.strip_prefix("r#").unwrap_or(name))?;
        }
        write!(Escaping(&mut self.writer), "{value:?}")
    }
}

impl Visit for EscapingVisitor<'_> {
    /// Strings as the default formatter writes them: the message bare, other fields quoted.
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record_debug(field, &format_args!("{value}"));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_ok() {
            self.result = self.write(field, value);
        }
    }
}

/// Passes text through, writing each character that could end, hide or repaint a line as its
/// escape (`\n`, `\r`, `\t`, `\u{1b}`, `\u{0}`, `\u{2028}`, …).
struct Escaping<W>(W);

impl<W: fmt::Write> fmt::Write for Escaping<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut rest = text;
        while let Some(at) = rest.find(needs_escape) {
            let (clean, tail) = rest.split_at(at);
            self.0.write_str(clean)?;
            let mut chars = tail.chars();
            let special = chars.next().expect("find stopped at a character");
            write!(self.0, "{}", special.escape_default())?;
            rest = chars.as_str();
        }
        self.0.write_str(rest)
    }
}

/// C0 and C1 controls and DEL (`char::is_control`), and the two Unicode line breaks some
/// viewers honour.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(text: &str) -> String {
        let mut out = String::new();
        write!(Escaping(&mut out), "{text}").unwrap();
        out
    }

    #[test]
    fn every_character_that_could_forge_a_line_is_escaped() {
        assert_eq!(
            escaped("y\n2026-01-01T00:00:00Z  INFO x: forged"),
            r"y\n2026-01-01T00:00:00Z  INFO x: forged"
        );
        assert_eq!(escaped("a\rb\tc"), r"a\rb\tc");
        assert_eq!(escaped("\u{1b}[2Jx\0y"), r"\u{1b}[2Jx\u{0}y");
        assert_eq!(
            escaped("\u{85}\u{2028}\u{2029}\u{7f}"),
            r"\u{85}\u{2028}\u{2029}\u{7f}"
        );
        // Everything else, other scripts and emoji included, stays as it is.
        assert_eq!(
            escaped("déploiement ✅ 部署 \"q\" \\"),
            "déploiement ✅ 部署 \"q\" \\"
        );
    }
}
