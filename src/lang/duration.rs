//! Durations as admins write them in event files (`30s`, `10m`, `1h30m`, `90`), and back.
//!
//! Whole seconds only: nothing an event waits for needs finer steps, and a form without
//! fractions has exactly one spelling for every value.

use std::time::Duration;

/// The units, largest first, with their length in seconds. A duration names each at most once,
/// in this order, so every value has one written form and a typo like `1m30m` is caught.
const UNITS: [(char, u64); 5] = [
    ('w', 7 * 24 * 60 * 60),
    ('d', 24 * 60 * 60),
    ('h', 60 * 60),
    ('m', 60),
    ('s', 1),
];

const HOW_TO_WRITE: &str = "write it like 30s, 10m, 2h, 1d or 1w";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("no duration given; {HOW_TO_WRITE}")]
    Empty,
    #[error("\"{0}\" is not a duration; {HOW_TO_WRITE}")]
    NotADuration(String),
    #[error("\"{0}\" names a unit twice or out of order; give each unit once, largest first, like 1h30m")]
    UnitOrder(String),
    #[error("\"{0}\" is too long a duration to count in seconds")]
    TooLong(String),
}

/// Reads `30s`, `10m`, `2h`, `1d`, `1w`, combinations such as `1h30m` or `1h 30m`, and a bare
/// integer as seconds (`90`, `0`). Whitespace around and between the parts is ignored.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(DurationError::Empty);
    }
    let not_a_duration = || DurationError::NotADuration(trimmed.to_owned());
    let too_long = || DurationError::TooLong(trimmed.to_owned());

    let mut chars = trimmed.chars().peekable();
    let mut total: u64 = 0;
    // Index into UNITS of the next unit allowed; enforces "each once, largest first".
    let mut next_unit = 0;
    let mut parts = 0;
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            break;
        }
        let mut amount: u64 = 0;
        let mut digits = 0;
        while let Some(digit) = chars
            .next_if(char::is_ascii_digit)
            .and_then(|c| c.to_digit(10))
        {
            amount = amount
                .checked_mul(10)
                .and_then(|a| a.checked_add(u64::from(digit)))
                .ok_or_else(too_long)?;
            digits += 1;
        }
        if digits == 0 {
            return Err(not_a_duration());
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let unit_seconds = match chars.next() {
            // A bare number is seconds, but only when it is the whole duration: `1h30` is more
            // likely a forgotten `m` than thirty seconds.
            None if parts == 0 => 1,
            None => return Err(not_a_duration()),
            Some(symbol) => {
                let index = UNITS
                    .iter()
                    .position(|(unit, _)| *unit == symbol)
                    .ok_or_else(not_a_duration)?;
                if index < next_unit {
                    return Err(DurationError::UnitOrder(trimmed.to_owned()));
                }
                next_unit = index + 1;
                UNITS[index].1
            }
        };
        let seconds = amount.checked_mul(unit_seconds).ok_or_else(too_long)?;
        total = total.checked_add(seconds).ok_or_else(too_long)?;
        parts += 1;
    }
    Ok(Duration::from_secs(total))
}

/// The compact form [`parse_duration`] reads back: `1h30m`, `2d`, `45s`, `0s` for zero.
/// Fractions of a second are dropped.
pub fn format_duration(duration: Duration) -> String {
    let mut rest = duration.as_secs();
    if rest == 0 {
        return "0s".to_owned();
    }
    let mut text = String::new();
    for (unit, seconds) in UNITS {
        let amount = rest / seconds;
        if amount > 0 {
            text.push_str(&amount.to_string());
            text.push(unit);
            rest %= seconds;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn single_units() {
        assert_eq!(parse_duration("30s"), Ok(secs(30)));
        assert_eq!(parse_duration("10m"), Ok(secs(600)));
        assert_eq!(parse_duration("2h"), Ok(secs(7200)));
        assert_eq!(parse_duration("1d"), Ok(secs(86_400)));
        assert_eq!(parse_duration("1w"), Ok(secs(604_800)));
    }

    #[test]
    fn bare_integers_are_seconds() {
        assert_eq!(parse_duration("90"), Ok(secs(90)));
        assert_eq!(parse_duration("0"), Ok(secs(0)));
        assert_eq!(parse_duration(" 7 "), Ok(secs(7)));
    }

    #[test]
    fn combinations_and_whitespace() {
        assert_eq!(parse_duration("1h30m"), Ok(secs(5400)));
        assert_eq!(parse_duration("  1h 30m  "), Ok(secs(5400)));
        assert_eq!(parse_duration("1 h 30 m"), Ok(secs(5400)));
        assert_eq!(
            parse_duration("1w2d3h4m5s"),
            Ok(secs(604_800 + 172_800 + 10_800 + 245))
        );
        assert_eq!(parse_duration("0s"), Ok(secs(0)));
    }

    #[test]
    fn errors_say_what_to_write() {
        assert_eq!(
            parse_duration("5x").unwrap_err().to_string(),
            "\"5x\" is not a duration; write it like 30s, 10m, 2h, 1d or 1w"
        );
        assert_eq!(parse_duration("  ").unwrap_err(), DurationError::Empty);
        for bad in ["h", "1.5h", "-5s", "1h30", "1 2", "5 sec", "10M", "s5"] {
            assert!(
                matches!(parse_duration(bad), Err(DurationError::NotADuration(_))),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn units_once_and_largest_first() {
        for bad in ["30m1h", "1m30m", "5s5s"] {
            assert_eq!(
                parse_duration(bad),
                Err(DurationError::UnitOrder(bad.to_owned()))
            );
        }
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert!(matches!(
            parse_duration("99999999999999999999"),
            Err(DurationError::TooLong(_))
        ));
        assert!(matches!(
            parse_duration("30600000000000w"),
            Err(DurationError::TooLong(_))
        ));
        assert!(matches!(
            parse_duration("18446744073709551615s1s"),
            Err(DurationError::UnitOrder(_))
        ));
        assert!(matches!(
            parse_duration("30000000000000w18446744073709551615s"),
            Err(DurationError::TooLong(_))
        ));
        assert_eq!(parse_duration("18446744073709551615"), Ok(secs(u64::MAX)));
    }

    #[test]
    fn formats_compactly() {
        assert_eq!(format_duration(secs(5400)), "1h30m");
        assert_eq!(format_duration(secs(0)), "0s");
        assert_eq!(format_duration(secs(90)), "1m30s");
        assert_eq!(format_duration(secs(86_400 * 9)), "1w2d");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s");
    }

    #[test]
    fn format_reads_back() {
        for n in [0, 1, 59, 60, 61, 3599, 3600, 86_399, 604_801, u64::MAX] {
            assert_eq!(parse_duration(&format_duration(secs(n))), Ok(secs(n)));
        }
    }
}
