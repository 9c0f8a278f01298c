//! Whether a condition holds: one evaluator for an `if` inside a run and for the `[[when]]`
//! filters at the listener's door, so both read every condition the same way.
//!
//! The evaluator itself does no I/O: it renders templates through a [`Lookup`] and asks
//! [`Facts`] for what text cannot say (a member's roles, a dice roll). It is async only because
//! a run's `has_role` may have to ask Discord.

use std::future::Future;

use futures::future::{BoxFuture, FutureExt};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::events::{CompareOp, Condition};
use crate::lang::templates::Lookup;

/// What a condition may need beyond its text.
pub trait Facts: Send {
    type Error: Send;

    /// Whether `user` has `role` in the event's server, both as rendered.
    fn has_role(
        &mut self,
        user: &str,
        role: &str,
    ) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// A number drawn uniformly from `0.0..100.0`, for `chance`.
    fn roll(&mut self) -> f64;
}

/// A condition's answer, and the reason in plain words for the run's log.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub holds: bool,
    pub explained: String,
}

impl Verdict {
    fn new(holds: bool, explained: String) -> Self {
        Verdict { holds, explained }
    }
}

/// Evaluates `condition` with its templates rendered from `values`. `all` and `any`
/// short-circuit like `&&` and `||`: a `has_role` or `chance` after the deciding condition is
/// not even looked at.
pub fn evaluate<'a, L, F>(
    condition: &'a Condition,
    values: &'a L,
    facts: &'a mut F,
) -> BoxFuture<'a, Result<Verdict, F::Error>>
where
    L: Lookup + Sync,
    F: Facts,
{
    async move {
        match condition {
            Condition::Compare {
                left,
                op,
                right,
                ignore_case,
            } => {
                let (left, right) = (left.render(values), right.render(values));
                let holds = compare(&left, *op, &right, *ignore_case);
                let explained = format!("{left:?} {} {right:?} is {holds}", op.name());
                Ok(Verdict::new(holds, explained))
            }
            Condition::Matches { left, pattern } => {
                let left = left.render(values);
                let holds = pattern.regex().is_match(&left);
                let explained = format!("{left:?} matches /{}/ is {holds}", pattern.as_str());
                Ok(Verdict::new(holds, explained))
            }
            Condition::IsEmpty { left } => {
                let left = left.render(values);
                let holds = left.trim().is_empty();
                Ok(Verdict::new(holds, format!("{left:?} is empty is {holds}")))
            }
            Condition::HasRole { user, role } => {
                let (user, role) = (user.render(values), role.render(values));
                let holds = facts.has_role(&user, &role).await?;
                Ok(Verdict::new(
                    holds,
                    format!("{user} has role {role} is {holds}"),
                ))
            }
            Condition::Chance { percent } => {
                let holds = facts.roll() < *percent;
                Ok(Verdict::new(holds, format!("{percent}% chance is {holds}")))
            }
            Condition::All(list) | Condition::Any(list) => {
                let all = matches!(condition, Condition::All(_));
                let joiner = if all { " and " } else { " or " };
                let mut parts = Vec::new();
                for inner in list {
                    let verdict = evaluate(inner, values, facts).await?;
                    parts.push(verdict.explained);
                    if verdict.holds != all {
                        let explained = format!("({})", parts.join(joiner));
                        return Ok(Verdict::new(verdict.holds, explained));
                    }
                }
                Ok(Verdict::new(all, format!("({})", parts.join(joiner))))
            }
            Condition::Not(inner) => {
                let verdict = evaluate(inner, values, facts).await?;
                let explained = format!("not ({})", verdict.explained);
                Ok(Verdict::new(!verdict.holds, explained))
            }
        }
    }
    .boxed()
}

/// Texts compare as texts; `equals`/`not_equals` also call two numbers equal when their values
/// are (`1.0` equals `1`); `greater_than`/`less_than` need two numbers and are false otherwise.
/// Numbers compare exactly while both fit a 28-digit decimal (so two 23-digit ids that differ in
/// their last digit are different), and as f64 beyond that.
pub fn compare(left: &str, op: CompareOp, right: &str, ignore_case: bool) -> bool {
    let (l, r) = if ignore_case {
        (left.to_lowercase(), right.to_lowercase())
    } else {
        (left.to_owned(), right.to_owned())
    };
    let equal = l == r || matches!((number(left), number(right)), (Some(a), Some(b)) if a == b);
    match op {
        CompareOp::Equals => equal,
        CompareOp::NotEquals => !equal,
        CompareOp::Contains => l.contains(&r),
        CompareOp::StartsWith => l.starts_with(&r),
        CompareOp::EndsWith => l.ends_with(&r),
        CompareOp::GreaterThan => {
            matches!((number(left), number(right)), (Some(a), Some(b)) if a > b)
        }
        CompareOp::LessThan => matches!((number(left), number(right)), (Some(a), Some(b)) if a < b),
    }
}

/// A text read as a number: exact when it fits a decimal, else an f64; `None` when it is not a
/// finite number.
#[derive(Debug, Clone, Copy)]
enum Numeric {
    Exact(Decimal),
    Approximate(f64),
}

fn number(text: &str) -> Option<Numeric> {
    let text = text.trim();
    // rust_decimal also reads `1_000`; a number here is what JSON or a person writes.
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'));
    let exact = if !plain {
        None
    } else if text.contains(['e', 'E']) {
        Decimal::from_scientific(text).ok()
    } else {
        Decimal::from_str_exact(text).ok()
    };
    match exact {
        Some(exact) => Some(Numeric::Exact(exact)),
        None => text
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .map(Numeric::Approximate),
    }
}

impl Numeric {
    fn approximate(self) -> f64 {
        match self {
            Numeric::Exact(exact) => exact.to_f64().unwrap_or(f64::NAN),
            Numeric::Approximate(approximate) => approximate,
        }
    }
}

impl PartialEq for Numeric {
    fn eq(&self, other: &Self) -> bool {
        self.partial_cmp(other) == Some(std::cmp::Ordering::Equal)
    }
}

impl PartialOrd for Numeric {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Numeric::Exact(a), Numeric::Exact(b)) => Some(a.cmp(b)),
            _ => self.approximate().partial_cmp(&other.approximate()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::templates::{Template, Variables};

    /// Answers `has_role` from a list and counts the questions; rolls a fixed number.
    struct Known {
        roles: Vec<(&'static str, &'static str)>,
        asked: usize,
        roll: f64,
    }

    impl Facts for Known {
        type Error = String;

        async fn has_role(&mut self, user: &str, role: &str) -> Result<bool, String> {
            self.asked += 1;
            if user == "ghost" {
                return Err(format!("no member {user}"));
            }
            Ok(self.roles.contains(&(user, role)))
        }

        fn roll(&mut self) -> f64 {
            self.roll
        }
    }

    fn known() -> Known {
        Known {
            roles: vec![("ann", "admin")],
            asked: 0,
            roll: 40.0,
        }
    }

    fn compare_of(left: &str, op: CompareOp, right: &str) -> Condition {
        Condition::Compare {
            left: Template::new(left),
            op,
            right: Template::new(right),
            ignore_case: false,
        }
    }

    fn has_role(user: &str) -> Condition {
        Condition::HasRole {
            user: Template::new(user),
            role: Template::new("admin"),
        }
    }

    fn verdict(condition: &Condition, facts: &mut Known) -> Result<Verdict, String> {
        let mut values = Variables::new();
        values.insert("status", "down");
        futures::executor::block_on(evaluate(condition, &values, facts))
    }

    #[test]
    fn templates_render_before_comparing_and_the_reason_says_so() {
        let condition = compare_of("{status}", CompareOp::Equals, "down");
        let answer = verdict(&condition, &mut known()).unwrap();
        assert_eq!(
            answer,
            Verdict::new(true, r#""down" equals "down" is true"#.into())
        );
        let condition = Condition::IsEmpty {
            left: Template::new("{missing}"),
        };
        assert!(!verdict(&condition, &mut known()).unwrap().holds);
    }

    #[test]
    fn all_and_any_stop_at_the_deciding_condition() {
        let mut facts = known();
        let no = compare_of("a", CompareOp::Equals, "b");
        let condition = Condition::All(vec![no.clone(), has_role("ann")]);
        let answer = verdict(&condition, &mut facts).unwrap();
        assert_eq!(
            answer,
            Verdict::new(false, r#"("a" equals "b" is false)"#.into())
        );
        assert_eq!(facts.asked, 0);
        let condition = Condition::Any(vec![no, has_role("ann"), has_role("ghost")]);
        let answer = verdict(&condition, &mut facts).unwrap();
        assert!(answer.holds);
        assert_eq!(
            answer.explained,
            r#"("a" equals "b" is false or ann has role admin is true)"#
        );
        assert_eq!(facts.asked, 1);
    }

    #[test]
    fn a_fact_that_cannot_be_had_is_an_error() {
        let condition = Condition::Not(Box::new(has_role("ghost")));
        assert_eq!(
            verdict(&condition, &mut known()),
            Err("no member ghost".into())
        );
    }

    #[test]
    fn chance_holds_below_its_percent() {
        let mut facts = known();
        let chance = |percent| Condition::Chance { percent };
        assert!(verdict(&chance(50.0), &mut facts).unwrap().holds);
        assert!(!verdict(&chance(40.0), &mut facts).unwrap().holds);
        let not = Condition::Not(Box::new(chance(25.0)));
        assert_eq!(
            verdict(&not, &mut facts).unwrap(),
            Verdict::new(true, "not (25% chance is false)".into())
        );
    }

    #[test]
    fn comparisons() {
        use CompareOp::*;
        assert!(compare("down", Equals, "down", false));
        assert!(!compare("Down", Equals, "down", false));
        assert!(compare("Down", Equals, "down", true));
        assert!(compare("1.0", Equals, "1", false));
        // Issue 14.13: big numbers compare by every digit, not as the same f64.
        assert!(!compare(
            "12345678901234567890123",
            Equals,
            "12345678901234567890124",
            false
        ));
        assert!(compare(
            "12345678901234567890124",
            GreaterThan,
            "12345678901234567890123",
            false
        ));
        assert!(compare(
            "1.2345678901234567890123e22",
            Equals,
            "12345678901234567890123",
            false
        ));
        assert!(compare("0.30000000000000000001", GreaterThan, "0.3", false));
        assert!(!compare("1_000", Equals, "1000", false));
        assert!(compare("1e40", GreaterThan, "99", false));
        assert!(compare("up", NotEquals, "down", false));
        assert!(compare("refs/heads/main", EndsWith, "/main", false));
        assert!(compare("refs/heads/main", StartsWith, "refs/", false));
        assert!(compare("Hello World", Contains, "world", true));
        assert!(compare("10", GreaterThan, "9", false));
        assert!(!compare("10", LessThan, "9", false));
        assert!(!compare("ten", GreaterThan, "9", false));
        assert!(!compare("ten", LessThan, "9", false));
        assert!(compare("-2.5", LessThan, "0", false));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn op() -> impl Strategy<Value = CompareOp> {
            prop_oneof![
                Just(CompareOp::Equals),
                Just(CompareOp::NotEquals),
                Just(CompareOp::Contains),
                Just(CompareOp::StartsWith),
                Just(CompareOp::EndsWith),
                Just(CompareOp::GreaterThan),
                Just(CompareOp::LessThan),
            ]
        }

        proptest! {
            #[test]
            fn comparing_never_panics(left in any::<String>(), right in any::<String>(), op in op(), ignore_case in any::<bool>()) {
                let _ = compare(&left, op, &right, ignore_case);
            }

            #[test]
            fn equals_and_not_equals_are_opposites(left in any::<String>(), right in any::<String>(), ignore_case in any::<bool>()) {
                prop_assert_ne!(
                    compare(&left, CompareOp::Equals, &right, ignore_case),
                    compare(&left, CompareOp::NotEquals, &right, ignore_case)
                );
            }

            #[test]
            fn numbers_order_like_numbers(a in -1.0e9f64..1.0e9, b in -1.0e9f64..1.0e9) {
                let (l, r) = (a.to_string(), b.to_string());
                prop_assert_eq!(compare(&l, CompareOp::GreaterThan, &r, false), a > b);
                prop_assert_eq!(compare(&l, CompareOp::LessThan, &r, false), a < b);
            }

            #[test]
            fn a_text_contains_its_own_parts(text in any::<String>(), cut in 0usize..64) {
                let cut = text.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(text.len());
                let (head, tail) = text.split_at(cut);
                prop_assert!(compare(&text, CompareOp::StartsWith, head, false));
                prop_assert!(compare(&text, CompareOp::EndsWith, tail, false));
                prop_assert!(compare(&text, CompareOp::Contains, tail, false));
            }
        }
    }
}
