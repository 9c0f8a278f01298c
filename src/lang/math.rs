//! The `math` action's arithmetic: `+ - * / % ( )` on exact decimals, with errors that point at
//! the character.
//!
//! Decimals rather than floats because admins compute prices, percentages and counters that are
//! shown to people: `0.1 + 0.2` must print `0.3`. The range is ±7.9 × 10²⁸ with up to 28 digits
//! after the point; past that is an overflow error, never a silent rounding to infinity.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;

/// The longest expression accepted, in characters; templates render into it, so it is bounded.
pub const MAX_EXPRESSION_CHARS: usize = 1000;
/// The deepest nesting of parentheses; the parser recurses once per level.
pub const MAX_NESTING_DEPTH: usize = 64;

/// The result of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(Decimal);

impl Number {
    pub fn decimal(self) -> Decimal {
        self.0
    }

    /// True when there is nothing after the decimal point.
    pub fn is_integer(self) -> bool {
        self.0.fract().is_zero()
    }
}

impl From<Decimal> for Number {
    fn from(value: Decimal) -> Self {
        Number(value)
    }
}

/// Integers without a point (`6`), decimals without trailing zeros (`2.5`), never `-0`.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_zero() {
            return f.write_str("0");
        }
        fmt::Display::fmt(&self.0.normalize(), f)
    }
}

/// Why an expression has no value. Positions count characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    #[error("the expression is empty")]
    Empty,
    #[error("the expression has {chars} characters; at most {MAX_EXPRESSION_CHARS} are allowed")]
    TooLong { chars: usize },
    #[error("unexpected \"{text}\" at character {position}")]
    Unexpected { text: String, position: usize },
    #[error("the expression ends too early; a number is missing at the end")]
    UnexpectedEnd,
    #[error("the \"(\" at character {position} is never closed")]
    Unclosed { position: usize },
    #[error("the \")\" at character {position} has no matching \"(\"")]
    Unmatched { position: usize },
    #[error("parentheses nested more than {MAX_NESTING_DEPTH} deep at character {position}")]
    TooDeep { position: usize },
    #[error("the number \"{text}\" at character {position} has too many digits")]
    NumberTooLarge { text: String, position: usize },
    #[error("{} by zero at character {position}", if *.operator == '%' { "modulo" } else { "division" })]
    DivisionByZero { operator: char, position: usize },
    #[error("the result of \"{operator}\" at character {position} is too large")]
    Overflow { operator: char, position: usize },
}

/// Evaluates `expression` with the usual precedence (`* / %` before `+ -`, left to right,
/// unary `-`/`+` binding tightest). `%` is the remainder with the sign of the left side.
pub fn evaluate(expression: &str) -> Result<Number, MathError> {
    let chars = expression.chars().count();
    if chars > MAX_EXPRESSION_CHARS {
        return Err(MathError::TooLong { chars });
    }
    let tokens = tokenize(expression)?;
    if tokens.is_empty() {
        return Err(MathError::Empty);
    }
    let mut parser = Parser {
        tokens: &tokens,
        next: 0,
        depth: 0,
    };
    let value = parser.sum()?;
    match parser.peek() {
        None => Ok(Number(value)),
        Some(token) => Err(match token.kind {
            Kind::Close => MathError::Unmatched {
                position: token.position,
            },
            _ => token.unexpected(),
        }),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    Number(Decimal),
    Operator(char),
    Open,
    Close,
}

#[derive(Debug, Clone)]
struct Token {
    kind: Kind,
    /// As written, for error messages.
    text: String,
    position: usize,
}

impl Token {
    fn unexpected(&self) -> MathError {
        MathError::Unexpected {
            text: self.text.clone(),
            position: self.position,
        }
    }
}

fn tokenize(expression: &str) -> Result<Vec<Token>, MathError> {
    let mut tokens = Vec::new();
    let mut chars = expression.chars().zip(1..).peekable();
    while let Some((c, position)) = chars.next() {
        let kind = match c {
            _ if c.is_whitespace() => continue,
            '+' | '-' | '*' | '/' | '%' => Kind::Operator(c),
            '(' => Kind::Open,
            ')' => Kind::Close,
            '0'..='9' => {
                let mut text = String::from(c);
                while let Some((digit, _)) = chars.next_if(|(d, _)| d.is_ascii_digit()) {
                    text.push(digit);
                }
                if let Some((point, point_position)) = chars.next_if(|(d, _)| *d == '.') {
                    text.push(point);
                    let before = text.len();
                    while let Some((digit, _)) = chars.next_if(|(d, _)| d.is_ascii_digit()) {
                        text.push(digit);
                    }
                    // `3.` is more likely a typo than a number.
                    if text.len() == before {
                        return Err(MathError::Unexpected {
                            text: ".".into(),
                            position: point_position,
                        });
                    }
                }
                // from_str_exact refuses to round away digits it cannot hold.
                let value =
                    Decimal::from_str_exact(&text).map_err(|_| MathError::NumberTooLarge {
                        text: text.clone(),
                        position,
                    })?;
                tokens.push(Token {
                    kind: Kind::Number(value),
                    text,
                    position,
                });
                continue;
            }
            _ => {
                return Err(MathError::Unexpected {
                    text: c.to_string(),
                    position,
                })
            }
        };
        tokens.push(Token {
            kind,
            text: c.to_string(),
            position,
        });
    }
    Ok(tokens)
}

struct Parser<'a> {
    tokens: &'a [Token],
    next: usize,
    /// Open parentheses around the current point, bounded by MAX_NESTING_DEPTH.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn take_operator(&mut self, operators: &[char]) -> Option<(char, usize)> {
        match self.peek() {
            Some(Token {
                kind: Kind::Operator(op),
                position,
                ..
            }) if operators.contains(op) => {
                let found = (*op, *position);
                self.next += 1;
                Some(found)
            }
            _ => None,
        }
    }

    /// sum := product (("+" | "-") product)*
    fn sum(&mut self) -> Result<Decimal, MathError> {
        let mut value = self.product()?;
        while let Some((operator, position)) = self.take_operator(&['+', '-']) {
            let right = self.product()?;
            let result = match operator {
                '+' => value.checked_add(right),
                _ => value.checked_sub(right),
            };
            value = result.ok_or(MathError::Overflow { operator, position })?;
        }
        Ok(value)
    }

    /// product := signed (("*" | "/" | "%") signed)*
    fn product(&mut self) -> Result<Decimal, MathError> {
        let mut value = self.signed()?;
        while let Some((operator, position)) = self.take_operator(&['*', '/', '%']) {
            let right = self.signed()?;
            if operator != '*' && right.is_zero() {
                return Err(MathError::DivisionByZero { operator, position });
            }
            let result = match operator {
                '*' => value.checked_mul(right),
                '/' => value.checked_div(right),
                _ => value.checked_rem(right),
            };
            value = result.ok_or(MathError::Overflow { operator, position })?;
        }
        Ok(value)
    }

    /// signed := ("-" | "+")* atom. A loop, not recursion, so `------1` costs no stack.
    fn signed(&mut self) -> Result<Decimal, MathError> {
        let mut negative = false;
        while let Some((operator, _)) = self.take_operator(&['-', '+']) {
            negative ^= operator == '-';
        }
        let value = self.atom()?;
        // Decimal's range is symmetric, so negation cannot overflow.
        Ok(if negative { -value } else { value })
    }

    /// atom := number | "(" sum ")"
    fn atom(&mut self) -> Result<Decimal, MathError> {
        let token = self.peek().ok_or(MathError::UnexpectedEnd)?;
        match token.kind {
            Kind::Number(value) => {
                self.next += 1;
                Ok(value)
            }
            Kind::Open => {
                let open = token.position;
                if self.depth >= MAX_NESTING_DEPTH {
                    return Err(MathError::TooDeep { position: open });
                }
                self.next += 1;
                self.depth += 1;
                let value = self.sum()?;
                self.depth -= 1;
                match self.peek() {
                    Some(Token {
                        kind: Kind::Close, ..
                    }) => {
                        self.next += 1;
                        Ok(value)
                    }
                    Some(other) => Err(other.unexpected()),
                    None => Err(MathError::Unclosed { position: open }),
                }
            }
            Kind::Close | Kind::Operator(_) => Err(token.unexpected()),
        }
    }
}

impl FromStr for Number {
    type Err = MathError;

    /// The same as [`evaluate`]: a plain number is the simplest expression.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        evaluate(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eval(expression: &str) -> String {
        match evaluate(expression) {
            Ok(n) => n.to_string(),
            Err(e) => panic!("{expression:?} failed: {e}"),
        }
    }

    fn error(expression: &str) -> String {
        match evaluate(expression) {
            Ok(n) => panic!("{expression:?} gave {n}, expected an error"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn precedence_and_associativity() {
        assert_eq!(eval("1 + 2 * 3"), "7");
        assert_eq!(eval("(1 + 2) * 3"), "9");
        assert_eq!(eval("10 - 4 - 3"), "3");
        assert_eq!(eval("100 / 10 / 5"), "2");
        assert_eq!(eval("2 * 3 % 4"), "2");
        assert_eq!(eval("7 % 3 * 2"), "2");
        assert_eq!(eval("1 - 2 + 3"), "2");
    }

    #[test]
    fn unary_signs() {
        assert_eq!(eval("-3"), "-3");
        assert_eq!(eval("+3"), "3");
        assert_eq!(eval("--3"), "3");
        assert_eq!(eval("2 * -3"), "-6");
        assert_eq!(eval("-(2 + 3)"), "-5");
        assert_eq!(eval("1 - -1"), "2");
        assert_eq!(eval("-7 % 3"), "-1");
        assert_eq!(eval(&format!("{}1", "-".repeat(999))), "-1");
    }

    #[test]
    fn decimals_are_exact_and_normalised() {
        assert_eq!(eval("0.1 + 0.2"), "0.3");
        assert_eq!(eval("5 / 2"), "2.5");
        assert_eq!(eval("1.50 + 1"), "2.5");
        assert_eq!(eval("2.5 * 2.4"), "6");
        assert_eq!(eval("4 / 2"), "2");
        assert_eq!(eval("0.5 - 0.5"), "0");
        assert_eq!(eval("-0"), "0");
        assert_eq!(eval("1 / 3"), "0.3333333333333333333333333333");
        assert_eq!(eval("7.5 % 2"), "1.5");
        assert!(evaluate("6").unwrap().is_integer());
        assert!(!evaluate("6.5").unwrap().is_integer());
    }

    #[test]
    fn errors_name_the_place() {
        assert_eq!(error("1 + x"), "unexpected \"x\" at character 5");
        assert_eq!(error("1 2"), "unexpected \"2\" at character 3");
        assert_eq!(error("1 + * 2"), "unexpected \"*\" at character 5");
        assert_eq!(error("3."), "unexpected \".\" at character 2");
        assert_eq!(error(".5"), "unexpected \".\" at character 1");
        assert_eq!(error("é + 1"), "unexpected \"é\" at character 1");
        assert_eq!(error("1 + ()"), "unexpected \")\" at character 6");
        assert_eq!(
            error("1 +"),
            "the expression ends too early; a number is missing at the end"
        );
    }

    #[test]
    fn empty_and_too_long() {
        assert_eq!(evaluate(""), Err(MathError::Empty));
        assert_eq!(evaluate("  \t"), Err(MathError::Empty));
        let long = "1+".repeat(500) + "1";
        assert_eq!(evaluate(&long), Err(MathError::TooLong { chars: 1001 }));
        let just_fits = "1+".repeat(499) + "1";
        assert_eq!(eval(&just_fits), "500");
    }

    #[test]
    fn unbalanced_parentheses() {
        assert_eq!(evaluate("(1 + 2"), Err(MathError::Unclosed { position: 1 }));
        assert_eq!(
            evaluate("((1) + 2"),
            Err(MathError::Unclosed { position: 1 })
        );
        assert_eq!(
            evaluate("1 + 2)"),
            Err(MathError::Unmatched { position: 6 })
        );
        assert_eq!(error("(1"), "the \"(\" at character 1 is never closed");
        assert_eq!(error(")"), "unexpected \")\" at character 1");
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = format!("{}1{}", "(".repeat(64), ")".repeat(64));
        assert_eq!(eval(&ok), "1");
        let deep = format!("{}1{}", "(".repeat(65), ")".repeat(65));
        assert_eq!(evaluate(&deep), Err(MathError::TooDeep { position: 65 }));
        // As deep as the length limit allows, unclosed: an error, not a stack overflow.
        assert!(evaluate(&"(".repeat(MAX_EXPRESSION_CHARS)).is_err());
    }

    #[test]
    fn division_by_zero() {
        assert_eq!(error("1 / 0"), "division by zero at character 3");
        assert_eq!(error("1 % (2 - 2)"), "modulo by zero at character 3");
        assert_eq!(error("0 / 0.0"), "division by zero at character 3");
    }

    #[test]
    fn overflow() {
        let max = "79228162514264337593543950335";
        assert_eq!(eval(max), max);
        assert_eq!(
            evaluate(&format!("{max} + 1")),
            Err(MathError::Overflow {
                operator: '+',
                position: 31
            })
        );
        assert!(matches!(
            evaluate(&format!("{max} * 2")),
            Err(MathError::Overflow { operator: '*', .. })
        ));
        assert!(matches!(
            evaluate(&format!("-{max} - 1")),
            Err(MathError::Overflow { operator: '-', .. })
        ));
        assert!(matches!(
            evaluate(&format!("10 / 0.{}1", "0".repeat(27))),
            Err(MathError::Overflow { operator: '/', .. })
        ));
        assert_eq!(
            error("792281625142643375935439503350"),
            "the number \"792281625142643375935439503350\" at character 1 has too many digits"
        );
        assert!(matches!(
            evaluate(&format!("0.{}1", "0".repeat(40))),
            Err(MathError::NumberTooLarge { .. })
        ));
    }

    /// Strings made mostly of the characters the evaluator knows, so the parser is exercised
    /// beyond its first error.
    fn expression_like() -> impl Strategy<Value = String> {
        let alphabet: Vec<char> = "0123456789.+-*/%()  x".chars().collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..80)
            .prop_map(|chars| chars.into_iter().collect())
    }

    proptest! {
        #[test]
        fn any_string_is_a_value_or_an_error(text in any::<String>()) {
            let _ = evaluate(&text);
        }

        #[test]
        fn any_expression_like_string_is_a_value_or_an_error(text in expression_like()) {
            let _ = evaluate(&text);
        }

        #[test]
        fn sums_of_integers(a in any::<i64>(), b in any::<i64>()) {
            let expected = (i128::from(a) + i128::from(b)).to_string();
            prop_assert_eq!(evaluate(&format!("{a} + {b}")).map(|n| n.to_string()), Ok(expected));
        }

        #[test]
        fn products_and_quotients_of_integers(a in any::<i32>(), b in any::<i32>()) {
            let product = (i64::from(a) * i64::from(b)).to_string();
            prop_assert_eq!(evaluate(&format!("{a} * ({b})")).map(|n| n.to_string()), Ok(product));
            if b != 0 {
                let remainder = (i64::from(a) % i64::from(b)).to_string();
                prop_assert_eq!(evaluate(&format!("{a} % ({b})")).map(|n| n.to_string()), Ok(remainder));
            }
        }
    }
}
