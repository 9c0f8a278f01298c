//! A problem found in a config or event file, shown as `FILE:LINE:COL: message`, and the
//! spanned TOML reader that finds them.
//!
//! Config and event files are written by hand, so a check reports every problem in a file at
//! once, each at the key or value to fix. [`Checker`] parses one file and collects its problems;
//! [`TableReader`] walks one table of it, type-checks the keys it is asked for, and at the end
//! reports every key nobody asked for, with the list of keys it does know.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::de::{DeArray, DeInteger, DeTable, DeValue};
use toml::Spanned;

/// Whether a problem stops the file from loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    /// The file is not loaded.
    #[default]
    Error,
    /// Worth a look, but the file loads (`hookbot check` still exits 0).
    Warning,
}

/// One thing wrong in a file, at a 1-based line and column (columns count characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file as the caller named it, so messages match what the user typed.
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
    pub message: String,
    pub severity: Severity,
}

impl Problem {
    pub fn new(
        file: impl Into<PathBuf>,
        line: usize,
        col: usize,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            file: file.into(),
            line,
            col,
            message: message.into(),
            severity: Severity::Error,
        }
    }

    /// A problem that does not stop the file from loading; shown as `FILE:LINE:COL: warning: …`.
    pub fn warning(
        file: impl Into<PathBuf>,
        line: usize,
        col: usize,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::new(file, line, col, message)
        }
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }

    /// A problem with the file as a whole (unreadable, missing), placed at its start.
    pub fn at_start(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Problem::new(file, 1, 1, message)
    }

    /// `FILE:LINE:COL`, the form used when one message points at another place.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.severity {
            Severity::Error => write!(f, "{}: {}", self.location(), self.message),
            Severity::Warning => write!(f, "{}: warning: {}", self.location(), self.message),
        }
    }
}

/// Turns byte offsets of one text into 1-based line and character column.
#[derive(Debug, Clone)]
pub struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset where each line starts; the first is always 0.
    line_starts: Vec<usize>,
}

impl<'t> LineIndex<'t> {
    pub fn new(text: &'t str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        LineIndex { text, line_starts }
    }

    /// The line and column of `offset`; an offset past the end (TOML reports errors at the end
    /// of input there) is placed just after the last character.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        // Counting chars that start before the offset stays correct even if an offset ever
        // falls inside a multi-byte character.
        let col = self.text[line_start..]
            .char_indices()
            .take_while(|(at, _)| line_start + at < offset)
            .count();
        (line, col + 1)
    }
}

/// One TOML file being checked: parses it and collects the problems every reader finds.
pub struct Checker<'t> {
    file: PathBuf,
    lines: LineIndex<'t>,
    text: &'t str,
    // Readers of nested tables all report here while their parents are still alive, so the list
    // is shared behind a RefCell rather than threaded through every call as `&mut`.
    problems: RefCell<Vec<Problem>>,
    warnings: RefCell<Vec<Problem>>,
}

impl<'t> Checker<'t> {
    pub fn new(file: &Path, text: &'t str) -> Self {
        Checker {
            file: file.to_path_buf(),
            lines: LineIndex::new(text),
            text,
            problems: RefCell::new(Vec::new()),
            warnings: RefCell::new(Vec::new()),
        }
    }

    /// Parses the whole text. Syntax errors are recorded (all of them, as far as the parser can
    /// recover) and give `None`: the tree of a broken file would only produce confusing
    /// follow-up problems.
    pub fn parse(&self) -> Option<Spanned<DeTable<'t>>> {
        let (document, errors) = DeTable::parse_recoverable(self.text);
        if errors.is_empty() {
            return Some(document);
        }
        for error in errors {
            let offset = error.span().map_or(0, |span| span.start);
            self.report(
                offset..offset,
                format!("TOML syntax error: {}", error.message()),
            );
        }
        None
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn position(&self, span: &Range<usize>) -> (usize, usize) {
        self.lines.position(span.start)
    }

    pub fn problem_at(&self, span: &Range<usize>, message: impl Into<String>) -> Problem {
        let (line, col) = self.position(span);
        Problem::new(self.file.clone(), line, col, message)
    }

    pub fn report(&self, span: Range<usize>, message: impl Into<String>) -> Reported {
        let problem = self.problem_at(&span, message);
        self.problems.borrow_mut().push(problem);
        Reported
    }

    /// Records a warning: the file still loads.
    pub fn warn(&self, span: Range<usize>, message: impl Into<String>) {
        let (line, col) = self.position(&span);
        let warning = Problem::warning(self.file.clone(), line, col, message);
        self.warnings.borrow_mut().push(warning);
    }

    /// Every warning found so far, in file order; they are taken out of the checker.
    pub fn take_warnings(&self) -> Vec<Problem> {
        let mut warnings = std::mem::take(&mut *self.warnings.borrow_mut());
        warnings.sort_by_key(|warning| (warning.line, warning.col));
        warnings.dedup();
        warnings
    }

    /// Whether any error (not warning) was found.
    pub fn has_problems(&self) -> bool {
        !self.problems.borrow().is_empty()
    }

    /// Every problem found, in the order they appear in the file.
    pub fn into_problems(self) -> Vec<Problem> {
        let mut problems = self.problems.into_inner();
        // Stable: two problems at one place keep the order they were found in.
        problems.sort_by_key(|problem| (problem.line, problem.col));
        problems.dedup();
        problems
    }

    /// A reader for the document's top-level table.
    pub fn root<'a>(
        &'a self,
        document: &'a Spanned<DeTable<'t>>,
        context: impl Into<String>,
    ) -> TableReader<'a, 't> {
        TableReader::new(self, document.get_ref(), document.span(), context)
    }
}

/// Proof that a problem was recorded: a reader that fails returns it, so callers can stop
/// building the value while the problem itself waits in the [`Checker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported;

/// The result of reading one part of a file.
pub type Checked<T> = Result<T, Reported>;

/// A short description of a value for messages: the value itself when it is small, else its kind.
pub fn describe(value: &DeValue<'_>) -> String {
    const MAX_SHOWN_CHARS: usize = 40;
    match value {
        DeValue::String(text) if text.chars().count() > MAX_SHOWN_CHARS => {
            let start: String = text.chars().take(MAX_SHOWN_CHARS).collect();
            format!("{:?}", start + "…")
        }
        DeValue::String(text) => format!("{text:?}"),
        DeValue::Integer(integer) => integer.to_string(),
        DeValue::Float(float) => float.to_string(),
        DeValue::Boolean(flag) => flag.to_string(),
        DeValue::Datetime(datetime) => datetime.to_string(),
        DeValue::Array(_) => "an array".to_owned(),
        DeValue::Table(_) => "a table".to_owned(),
    }
}

/// The value of a TOML integer; `None` only when it does not fit an `i128`, which TOML's own
/// 64-bit limit rules out.
pub fn integer_value(integer: &DeInteger<'_>) -> Option<i128> {
    i128::from_str_radix(integer.as_str(), integer.radix()).ok()
}

/// Walks one table: each `optional_*`/`required_*` call marks a key as known and checks its
/// type; [`TableReader::finish`] reports the keys that were never asked for.
pub struct TableReader<'a, 't> {
    checker: &'a Checker<'t>,
    table: &'a DeTable<'t>,
    span: Range<usize>,
    /// Where the table sits, for "in …" in messages: `send_message action`, `[http]`.
    context: String,
    /// Put before a key when a message names it: `http.` gives `http.listen must be …`.
    key_prefix: String,
    /// Keys asked for, in order: they are the "expected one of" list of an unknown key.
    expected: Vec<&'static str>,
    /// Keys that are allowed but left out of that list.
    unlisted: Vec<&'static str>,
}

impl<'a, 't> TableReader<'a, 't> {
    pub fn new(
        checker: &'a Checker<'t>,
        table: &'a DeTable<'t>,
        span: Range<usize>,
        context: impl Into<String>,
    ) -> Self {
        TableReader {
            checker,
            table,
            span,
            context: context.into(),
            key_prefix: String::new(),
            expected: Vec::new(),
            unlisted: Vec::new(),
        }
    }

    /// A reader for `value` if it is a table; else reports `{name} must be a table`.
    pub fn of_value(
        checker: &'a Checker<'t>,
        value: &'a Spanned<DeValue<'t>>,
        name: &str,
        context: impl Into<String>,
    ) -> Checked<Self> {
        match value.get_ref() {
            DeValue::Table(table) => Ok(TableReader::new(checker, table, value.span(), context)),
            other => Err(checker.report(
                value.span(),
                format!("{name} must be a table, got {}", describe(other)),
            )),
        }
    }

    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = context.into();
        self
    }

    pub fn with_key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = prefix.into();
        self
    }

    pub fn checker(&self) -> &'a Checker<'t> {
        self.checker
    }

    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    /// The key as messages name it, with this table's prefix.
    pub fn key_name(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    pub fn report(&self, span: Range<usize>, message: impl Into<String>) -> Reported {
        self.checker.report(span, message)
    }

    /// Reports `{key} must be {expected}, got …` at the value.
    pub fn wrong_type(&self, key: &str, value: &Spanned<DeValue<'t>>, expected: &str) -> Reported {
        self.report(
            value.span(),
            format!(
                "{} must be {expected}, got {}",
                self.key_name(key),
                describe(value.get_ref())
            ),
        );
        Reported
    }

    /// Reads `key` without listing it among the expected keys (e.g. an action's `type`, which
    /// chose the table's shape and would only be noise in that list).
    pub fn unlisted(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'t>>> {
        self.unlisted.push(key);
        self.table.get(key)
    }

    /// Whether the table has `key`, without marking it as known.
    pub fn contains(&self, key: &str) -> bool {
        self.table.contains_key(key)
    }

    /// The value of `key` if present, marking it as known.
    pub fn optional(&mut self, key: &'static str) -> Option<&'a Spanned<DeValue<'t>>> {
        if !self.expected.contains(&key) {
            self.expected.push(key);
        }
        self.table.get(key)
    }

    /// Like [`optional`](Self::optional), reporting a missing key at the table.
    pub fn required(&mut self, key: &'static str) -> Checked<&'a Spanned<DeValue<'t>>> {
        self.optional(key).ok_or_else(|| self.report_missing(key))
    }

    pub fn report_missing(&self, key: &str) -> Reported {
        self.report(
            self.span(),
            format!("missing required key {key:?} in {}", self.context),
        );
        Reported
    }

    pub fn optional_string(&mut self, key: &'static str) -> Checked<Option<Spanned<&'a str>>> {
        self.optional(key)
            .map(|value| self.expect_string(key, value))
            .transpose()
    }

    pub fn required_string(&mut self, key: &'static str) -> Checked<Spanned<&'a str>> {
        let value = self.required(key)?;
        self.expect_string(key, value)
    }

    fn expect_string(
        &self,
        key: &str,
        value: &'a Spanned<DeValue<'t>>,
    ) -> Checked<Spanned<&'a str>> {
        match value.get_ref() {
            DeValue::String(text) => Ok(Spanned::new(value.span(), text.as_ref())),
            _ => Err(self.wrong_type(key, value, "a string")),
        }
    }

    pub fn optional_bool(&mut self, key: &'static str) -> Checked<Option<bool>> {
        let Some(value) = self.optional(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Boolean(flag) => Ok(Some(*flag)),
            _ => Err(self.wrong_type(key, value, "true or false")),
        }
    }

    /// An integer; `expected` describes what is wanted, for the message when it is not one.
    pub fn optional_integer(
        &mut self,
        key: &'static str,
        expected: &str,
    ) -> Checked<Option<Spanned<i128>>> {
        let Some(value) = self.optional(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Integer(integer) => integer_value(integer)
                .map(|number| Some(Spanned::new(value.span(), number)))
                .ok_or_else(|| self.wrong_type(key, value, expected)),
            _ => Err(self.wrong_type(key, value, expected)),
        }
    }

    pub fn optional_array(
        &mut self,
        key: &'static str,
    ) -> Checked<Option<Spanned<&'a DeArray<'t>>>> {
        let Some(value) = self.optional(key) else {
            return Ok(None);
        };
        match value.get_ref() {
            DeValue::Array(array) => Ok(Some(Spanned::new(value.span(), array))),
            _ => Err(self.wrong_type(key, value, "an array")),
        }
    }

    pub fn optional_table(
        &mut self,
        key: &'static str,
        context: impl Into<String>,
    ) -> Checked<Option<TableReader<'a, 't>>> {
        let Some(value) = self.optional(key) else {
            return Ok(None);
        };
        TableReader::of_value(self.checker, value, &self.key_name(key), context).map(Some)
    }

    /// An optional array whose every item must be a table (`[[key]]` or `key = [{…}]`): a
    /// reader for each item, or the problem with it (already reported).
    pub fn optional_tables(
        &mut self,
        key: &'static str,
        item_context: &str,
    ) -> Checked<Option<Spanned<Vec<Checked<TableReader<'a, 't>>>>>> {
        let Some(array) = self.optional_array(key)? else {
            return Ok(None);
        };
        let name = self.key_name(key);
        let items = array
            .get_ref()
            .iter()
            .enumerate()
            .map(|(index, item)| {
                TableReader::of_value(
                    self.checker,
                    item,
                    &format!("{name}[{index}]"),
                    item_context,
                )
            })
            .collect();
        Ok(Some(Spanned::new(array.span(), items)))
    }

    /// Every key of the table with its value, for tables whose keys are free (headers); the
    /// reader is used up, so no key is reported as unknown.
    pub fn into_entries(self) -> Vec<(Spanned<&'a str>, &'a Spanned<DeValue<'t>>)> {
        self.table
            .iter()
            .map(|(key, value)| (Spanned::new(key.span(), key.get_ref().as_ref()), value))
            .collect()
    }

    /// Reports every key that was not asked for, naming the ones that were.
    pub fn finish(self) {
        for (key, _) in self.table.iter() {
            let name: &str = key.get_ref();
            if self.expected.contains(&name) || self.unlisted.contains(&name) {
                continue;
            }
            let message = if self.expected.is_empty() {
                format!("unknown key {name:?} in {}; it takes no keys", self.context)
            } else {
                format!(
                    "unknown key {name:?} in {}; expected one of: {}",
                    self.context,
                    self.expected.join(", ")
                )
            };
            self.report(key.span(), message);
        }
    }
}

/// `text` in double quotes for a message, escaped as JSON escapes it (`"a\"b"`, `"\u001b"`), so
/// no message shows Rust's debug notation (`\u{1b}`) to a user.
pub fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_file_line_col_message() {
        let problem = Problem::new("data/events/a.toml", 3, 7, "id must be a string");
        assert_eq!(
            problem.to_string(),
            "data/events/a.toml:3:7: id must be a string"
        );
    }

    #[test]
    fn warnings_say_so() {
        let warning = Problem::warning("a.toml", 2, 3, "{loop.index} outside a loop");
        assert!(warning.is_warning());
        assert_eq!(
            warning.to_string(),
            "a.toml:2:3: warning: {loop.index} outside a loop"
        );
    }

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\nbé = \"ü\"\n";
        let lines = LineIndex::new(text);
        assert_eq!(lines.position(0), (1, 1));
        assert_eq!(lines.position(4), (1, 5));
        assert_eq!(lines.position(6), (2, 1));
        // "bé = " is 6 bytes but 5 characters, so the string starts at column 6.
        let quote = text.find('"').unwrap();
        assert_eq!(lines.position(quote), (2, 6));
        assert_eq!(lines.position(text.len() + 10), (3, 1));
    }

    #[test]
    fn syntax_errors_are_problems_with_positions() {
        let text = "a = 1\nb = \nc = 2\n";
        let checker = Checker::new(Path::new("x.toml"), text);
        assert!(checker.parse().is_none());
        let problems = checker.into_problems();
        assert!(!problems.is_empty());
        assert_eq!((problems[0].line, problems[0].col), (2, 5));
        assert!(
            problems[0].message.starts_with("TOML syntax error: "),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn duplicate_keys_are_syntax_errors() {
        let checker = Checker::new(Path::new("x.toml"), "a = 1\na = 2\n");
        assert!(checker.parse().is_none());
        let problems = checker.into_problems();
        assert_eq!(problems.len(), 1);
        assert_eq!((problems[0].line, problems[0].col), (2, 1));
    }

    #[test]
    fn reader_checks_types_and_reports_missing_and_unknown_keys() {
        let text = "name = 5\nflag = \"yes\"\ncolour = 1\n[sub]\nx = 1\n";
        let checker = Checker::new(Path::new("x.toml"), text);
        let document = checker.parse().unwrap();
        let mut root = checker.root(&document, "test file").with_key_prefix("t.");
        assert_eq!(root.optional_string("name"), Err(Reported));
        assert_eq!(root.optional_bool("flag"), Err(Reported));
        assert_eq!(root.required_string("id"), Err(Reported));
        assert_eq!(root.optional_string("absent"), Ok(None));
        let sub = root.optional_table("sub", "[sub]").unwrap().unwrap();
        sub.finish();
        root.finish();
        let shown: Vec<String> = checker
            .into_problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            [
                "x.toml:1:1: missing required key \"id\" in test file",
                "x.toml:1:8: t.name must be a string, got 5",
                "x.toml:2:8: t.flag must be true or false, got \"yes\"",
                "x.toml:3:1: unknown key \"colour\" in test file; expected one of: name, flag, id, absent, sub",
                "x.toml:5:1: unknown key \"x\" in [sub]; it takes no keys",
            ]
        );
    }

    #[test]
    fn integers_in_every_radix() {
        let text = "a = 0xff\nb = -1_000\nc = +7\n";
        let checker = Checker::new(Path::new("x.toml"), text);
        let document = checker.parse().unwrap();
        let mut root = checker.root(&document, "test file");
        let get = |root: &mut TableReader<'_, '_>, key| {
            root.optional_integer(key, "an integer")
                .unwrap()
                .map(|n| n.into_inner())
        };
        assert_eq!(get(&mut root, "a"), Some(255));
        assert_eq!(get(&mut root, "b"), Some(-1000));
        assert_eq!(get(&mut root, "c"), Some(7));
        root.finish();
        assert!(!checker.has_problems());
    }
}
