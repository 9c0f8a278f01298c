//! Quoting for a POSIX shell: the `curl` lines hookbot prints for people to paste.

/// `text` as one word in a POSIX shell, whatever it holds: single quotes keep everything
/// literal, and a single quote inside is closed, escaped and reopened.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_survive_as_literal_text() {
        assert_eq!(shell_quote("plain"), "'plain'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote(r#"it's $HOME "x""#), r#"'it'\''s $HOME "x"'"#);
    }
}
