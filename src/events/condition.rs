//! Conditions: the tests of an `if` action and of an event's `[[when]]` filters, and the
//! comparisons and patterns they use. Plain data; the executor evaluates them.

use serde::{Deserialize, Serialize};

use crate::lang::templates::Template;

/// How two rendered texts are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareOp {
    Equals,
    NotEquals,
    Contains,
    StartsWith,
    EndsWith,
    /// Numeric; false when either side is not a number.
    GreaterThan,
    LessThan,
}

impl CompareOp {
    pub fn name(self) -> &'static str {
        match self {
            CompareOp::Equals => "equals",
            CompareOp::NotEquals => "not_equals",
            CompareOp::Contains => "contains",
            CompareOp::StartsWith => "starts_with",
            CompareOp::EndsWith => "ends_with",
            CompareOp::GreaterThan => "greater_than",
            CompareOp::LessThan => "less_than",
        }
    }
}

/// Every `op` a condition table may have.
pub const CONDITION_OPS: [&str; 11] = [
    "equals",
    "not_equals",
    "contains",
    "starts_with",
    "ends_with",
    "matches",
    "greater_than",
    "less_than",
    "is_empty",
    "has_role",
    "chance",
];

/// A condition of an `if` action (and of an event's `[[when]]` filters).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Compare {
        left: Template,
        op: CompareOp,
        right: Template,
        /// Compare texts without regard to case.
        ignore_case: bool,
    },
    /// `left` matches a regular expression, compiled once when the event is loaded.
    Matches {
        left: Template,
        pattern: Pattern,
    },
    /// `left` is empty or only whitespace after rendering.
    IsEmpty {
        left: Template,
    },
    HasRole {
        user: Template,
        role: Template,
    },
    /// True `percent` times in a hundred (0-100, decimals allowed).
    Chance {
        percent: f64,
    },
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// The Discord things the condition names directly, added to `refs`.
    pub fn references<'a>(&'a self, refs: &mut Vec<(&'static str, &'a Template)>) {
        match self {
            Condition::HasRole { user, role } => {
                refs.push(("user", user));
                refs.push(("role", role));
            }
            Condition::All(list) | Condition::Any(list) => {
                list.iter().for_each(|c| c.references(refs))
            }
            Condition::Not(inner) => inner.references(refs),
            _ => {}
        }
    }

    /// Every template of the condition and of the conditions inside it.
    pub fn templates<'a>(&'a self, all: &mut Vec<&'a Template>) {
        match self {
            Condition::Compare { left, right, .. } => {
                all.push(left);
                all.push(right);
            }
            Condition::Matches { left, .. } | Condition::IsEmpty { left } => all.push(left),
            Condition::HasRole { user, role } => {
                all.push(user);
                all.push(role);
            }
            Condition::Chance { .. } => {}
            Condition::All(list) | Condition::Any(list) => {
                list.iter().for_each(|c| c.templates(all))
            }
            Condition::Not(inner) => inner.templates(all),
        }
    }
}

/// A regular expression as written in the file, compiled once. Stored as its source text.
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: regex::Regex,
}

/// The most a compiled pattern may take, so a file cannot make a regex that eats memory.
pub const MAX_PATTERN_BYTES: usize = 1 << 20;

impl Pattern {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        regex::RegexBuilder::new(source)
            .size_limit(MAX_PATTERN_BYTES)
            .build()
            .map(|regex| Pattern { regex })
    }

    pub fn regex(&self) -> &regex::Regex {
        &self.regex
    }

    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        Pattern::new(&source).map_err(serde::de::Error::custom)
    }
}
