//! Snowflake ids and RFC 3339 timestamps for the things the stand-in creates.

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds from the Unix epoch to Discord's epoch (2015-01-01T00:00:00Z).
const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

/// Hands out Discord-shaped, strictly increasing snowflakes.
///
/// Real snowflakes are about 10^18, far from the small ids tests like to write in fixtures, so
/// created messages and DM channels never collide with fixture ids.
#[derive(Debug)]
pub(crate) struct Snowflakes {
    last: u64,
}

impl Snowflakes {
    pub(crate) fn new() -> Self {
        Snowflakes { last: 0 }
    }

    pub(crate) fn next(&mut self) -> u64 {
        let since_discord_epoch = unix_millis().saturating_sub(DISCORD_EPOCH_MS);
        // Worker and process bits are 0; the low 12 bits count within a millisecond, and going
        // one past the last id keeps them unique even when many are made at once.
        let candidate = since_discord_epoch << 22;
        self.last = candidate.max(self.last + 1);
        self.last
    }
}

fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as u64)
}

/// Now, as Discord writes timestamps: `2024-05-01T12:34:56.789000+00:00`.
pub(crate) fn now_rfc3339() -> String {
    rfc3339_from_unix_millis(unix_millis())
}

pub(crate) fn rfc3339_from_unix_millis(millis: u64) -> String {
    let seconds = millis / 1000;
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let second_of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}000+00:00",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        millis % 1000
    )
}

/// Milliseconds since the Unix epoch of an RFC 3339 timestamp (`2024-05-01T12:34:56.789Z`,
/// `…+02:00`), or `None` if it is not one.
pub(crate) fn unix_millis_from_rfc3339(text: &str) -> Option<i64> {
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') || bytes[16] != b':' {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 {
        return None;
    }
    if second > 60 {
        return None;
    }
    let mut rest = &text[19..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded = format!("{:0<3}", &fraction[..digits.min(3)]);
        millis = padded.parse::<i64>().ok()?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let (hours, minutes) = rest[1..].split_once(':')?;
            if hours.len() != 2 || minutes.len() != 2 {
                return None;
            }
            sign * (hours.parse::<i64>().ok()? * 60 + minutes.parse::<i64>().ok()?)
        }
    };
    let days = days_from_civil(year, month as u32, day as u32);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

pub(crate) fn unix_millis_now() -> i64 {
    unix_millis() as i64
}

/// Days since 1970-01-01 of a date; Howard Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Days since 1970-01-01 to a (year, month, day) date; Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_with_an_offset() {
        assert_eq!(
            rfc3339_from_unix_millis(0),
            "1970-01-01T00:00:00.000000+00:00"
        );
        assert_eq!(
            rfc3339_from_unix_millis(1_709_210_096_789),
            "2024-02-29T12:34:56.789000+00:00"
        );
    }

    #[test]
    fn parses_rfc3339_timestamps() {
        assert_eq!(
            unix_millis_from_rfc3339("2024-02-29T12:34:56.789000+00:00"),
            Some(1_709_210_096_789)
        );
        assert_eq!(
            unix_millis_from_rfc3339("2024-02-29T14:34:56.789+02:00"),
            Some(1_709_210_096_789)
        );
        assert_eq!(unix_millis_from_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(unix_millis_from_rfc3339("tomorrow"), None);
        assert_eq!(unix_millis_from_rfc3339("2024-13-01T00:00:00Z"), None);
    }

    #[test]
    fn snowflakes_increase_and_are_never_small() {
        let mut snowflakes = Snowflakes::new();
        let first = snowflakes.next();
        let second = snowflakes.next();
        assert!(second > first);
        assert!(first > 1 << 40);
    }
}
