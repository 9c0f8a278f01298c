//! Condition tables: an `if` action's `condition`, and the shape an event's `[[when]]` filters
//! share with it.

use toml::de::DeValue;
use toml::Spanned;

use super::ctx::Ctx;
use super::fields::{parse_float, read_target, required_value_text, ROLE, USER};
use crate::events::condition::{CompareOp, Condition, Pattern, CONDITION_OPS};
use crate::lang::templates::Template;
use crate::problem::{describe, integer_value, Checked, TableReader};

/// The keys that combine conditions; a table has one of them or an `op`.
const COMBINATORS: [&str; 3] = ["all", "any", "not"];

/// Reads one condition table, reporting every problem in it and in the conditions inside it.
pub(crate) fn read_condition(ctx: &Ctx<'_, '_>, table: TableReader<'_, '_>) -> Checked<Condition> {
    let combinators: Vec<&str> = COMBINATORS
        .into_iter()
        .filter(|key| table.contains(key))
        .collect();
    match combinators.as_slice() {
        [] => read_op_condition(ctx, table),
        [combinator] => read_combinator(ctx, table, combinator),
        _ => {
            let reported = table.report(
                table.span(),
                format!(
                    "a condition takes one of all, any and not, got {}",
                    combinators.join(" and ")
                ),
            );
            Err(reported)
        }
    }
}

fn read_combinator(
    ctx: &Ctx<'_, '_>,
    mut table: TableReader<'_, '_>,
    combinator: &str,
) -> Checked<Condition> {
    let condition = if combinator == "not" {
        let inner = table.optional_table("not", "condition");
        inner.and_then(|inner| {
            let inner = inner.expect("the table has `not`");
            read_condition(ctx, inner).map(|inner| Condition::Not(Box::new(inner)))
        })
    } else {
        let key = if combinator == "all" { "all" } else { "any" };
        let list = read_condition_list(ctx, &mut table, key);
        list.map(|list| {
            if key == "all" {
                Condition::All(list)
            } else {
                Condition::Any(list)
            }
        })
    };
    table.finish();
    condition
}

/// A non-empty list of condition tables.
fn read_condition_list(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    key: &'static str,
) -> Checked<Vec<Condition>> {
    let items = table
        .optional_tables(key, "condition")?
        .expect("the table has the key");
    if items.get_ref().is_empty() {
        return Err(table.report(
            items.span(),
            format!("{key} must list at least one condition table"),
        ));
    }
    let read: Vec<Checked<Condition>> = items
        .into_inner()
        .into_iter()
        .map(|item| item.and_then(|item| read_condition(ctx, item)))
        .collect();
    read.into_iter().collect()
}

fn read_op_condition(ctx: &Ctx<'_, '_>, mut table: TableReader<'_, '_>) -> Checked<Condition> {
    let ops = CONDITION_OPS.join(", ");
    let Some(op_value) = table.unlisted("op") else {
        return Err(table.report(
            table.span(),
            format!("missing required key \"op\" in condition; it is one of: {ops}; or combine conditions with all, any or not"),
        ));
    };
    // Without a known op the other keys cannot be judged, so the table is not finished.
    let op = match op_value.get_ref() {
        DeValue::String(op) if CONDITION_OPS.contains(&op.as_ref()) => op.to_string(),
        DeValue::String(op) => {
            return Err(table.report(
                op_value.span(),
                format!("unknown op {op:?}; expected one of: {ops}"),
            ))
        }
        other => {
            return Err(table.report(
                op_value.span(),
                format!("op must be one of: {ops}, got {}", describe(other)),
            ))
        }
    };
    let mut table = table.with_context(format!("{op} condition"));
    let condition = match op.as_str() {
        "matches" => read_matches(ctx, &mut table),
        "is_empty" => {
            required_value_text(ctx, &mut table, "left").map(|left| Condition::IsEmpty { left })
        }
        "has_role" => {
            let user = read_target(ctx, &mut table, "user", USER);
            let role = read_target(ctx, &mut table, "role", ROLE);
            user.and_then(|user| Ok(Condition::HasRole { user, role: role? }))
        }
        "chance" => read_chance(&mut table),
        compare => read_compare(ctx, &mut table, compare),
    };
    table.finish();
    condition
}

fn compare_op(name: &str) -> CompareOp {
    match name {
        "equals" => CompareOp::Equals,
        "not_equals" => CompareOp::NotEquals,
        "contains" => CompareOp::Contains,
        "starts_with" => CompareOp::StartsWith,
        "ends_with" => CompareOp::EndsWith,
        "greater_than" => CompareOp::GreaterThan,
        "less_than" => CompareOp::LessThan,
        other => unreachable!("{other} is not a comparison"),
    }
}

fn read_compare(
    ctx: &Ctx<'_, '_>,
    table: &mut TableReader<'_, '_>,
    op: &str,
) -> Checked<Condition> {
    let op = compare_op(op);
    let numeric = matches!(op, CompareOp::GreaterThan | CompareOp::LessThan);
    let left = required_value_text(ctx, table, "left")
        .and_then(|left| check_numeric(table, "left", left, numeric, op));
    let right = required_value_text(ctx, table, "right")
        .and_then(|right| check_numeric(table, "right", right, numeric, op));
    let ignore_case = table.optional_bool("ignore_case");
    Ok(Condition::Compare {
        left: left?,
        op,
        right: right?,
        ignore_case: ignore_case?.unwrap_or(false),
    })
}

/// A fixed side of `greater_than`/`less_than` must be a number.
fn check_numeric(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    side: Template,
    numeric: bool,
    op: CompareOp,
) -> Checked<Template> {
    if numeric && side.is_static() && side.as_str().trim().parse::<f64>().is_err() {
        let value = table.optional(key).expect("the side was read");
        return Err(table.report(
            value.span(),
            format!(
                "{key} of {} must be a number or text with {{placeholders}}, got {}",
                op.name(),
                describe(value.get_ref())
            ),
        ));
    }
    Ok(side)
}

fn read_matches(ctx: &Ctx<'_, '_>, table: &mut TableReader<'_, '_>) -> Checked<Condition> {
    let left = required_value_text(ctx, table, "left");
    let right = table.required_string("right");
    let ignore_case = table.optional_bool("ignore_case");
    let pattern = right.and_then(|right| {
        let source = if ignore_case.ok().flatten() == Some(true) {
            format!("(?i){}", right.get_ref())
        } else {
            right.get_ref().to_string()
        };
        compile(table, &right, &source)
    });
    Ok(Condition::Matches {
        left: left?,
        pattern: {
            ignore_case?;
            pattern?
        },
    })
}

fn compile(table: &TableReader<'_, '_>, right: &Spanned<&str>, source: &str) -> Checked<Pattern> {
    Pattern::new(source).map_err(|error| {
        table.report(
            right.span(),
            format!(
                "right is not a valid regular expression: {}",
                regex_error_text(&error)
            ),
        )
    })
}

/// The one line of a regex error that says what is wrong (its full text draws a caret diagram).
fn regex_error_text(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map(str::to_owned)
        .unwrap_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn read_chance(table: &mut TableReader<'_, '_>) -> Checked<Condition> {
    let value = table.required("percent")?;
    let percent = match value.get_ref() {
        DeValue::Integer(integer) => integer_value(integer).map(|number| number as f64),
        DeValue::Float(float) => parse_float(float.as_str()),
        _ => None,
    };
    match percent {
        Some(percent) if (0.0..=100.0).contains(&percent) => Ok(Condition::Chance { percent }),
        _ => Err(table.wrong_type("percent", value, "a number from 0 to 100")),
    }
}
