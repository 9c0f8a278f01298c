//! When a schedule is due: five-field cron lines in an IANA time zone (croner over jiff), and
//! `every` intervals counted from the Unix epoch (in any zone). Pure functions of a time given in unix
//! milliseconds; the clock belongs to the caller.
//!
//! Daylight-saving changes are croner's (it follows the Open Cron Pattern Specification and
//! Vixie cron): in a spring-forward gap, a job at a fixed time runs at the first minute after
//! the gap and a wildcard or step job skips the missing times; in a fall-back overlap, a job at
//! a fixed time runs once (the first pass), a wildcard or step job runs in both passes.

use std::time::Duration;

use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};

/// The time zone a schedule uses when it names none.
pub const DEFAULT_TIMEZONE: &str = "UTC";
/// The shortest `every`: cron's own granularity.
pub const MIN_EVERY: Duration = Duration::from_secs(60);
/// The longest `every`.
pub const MAX_EVERY: Duration = Duration::from_secs(52 * 7 * 24 * 60 * 60);

/// How often a schedule fires, as its event file says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// Five fields: minute, hour, day of month, month, day of week (`"0 9 * * 1-5"`).
    Cron(String),
    /// Whole seconds, from [`MIN_EVERY`] to [`MAX_EVERY`]; due at every multiple of it since
    /// 1970-01-01T00:00:00Z, so `every = "15m"` fires at :00, :15, :30 and :45.
    EverySeconds(u64),
}

/// A schedule as written: when, and in which time zone a cron line is read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub cadence: Cadence,
    /// An IANA name (`"Europe/Berlin"`); [`DEFAULT_TIMEZONE`] unless the file says.
    pub timezone: String,
}

/// Why a schedule cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("{0}")]
    Cron(String),
    #[error("cron {0:?} never fires (no date matches every field, e.g. February 30)")]
    NeverFires(String),
    #[error("unknown time zone {0:?}; use an IANA name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\"")]
    UnknownTimezone(String),
}

/// A schedule ready to answer "when next": the cron line parsed, the zone looked up.
#[derive(Debug, Clone)]
pub struct Compiled {
    kind: CompiledKind,
    /// Due times are shown in this zone.
    zone: TimeZone,
}

#[derive(Debug, Clone)]
enum CompiledKind {
    Cron(Box<Cron>),
    Every(u64),
}

impl Schedule {
    /// Parses the cron line (five fields only), looks up the zone and checks the schedule can
    /// fire at all.
    pub fn compile(&self) -> Result<Compiled, ScheduleError> {
        let zone = TimeZone::get(&self.timezone)
            .map_err(|_| ScheduleError::UnknownTimezone(self.timezone.clone()))?;
        let kind = match &self.cadence {
            Cadence::Cron(line) => CompiledKind::Cron(Box::new(parse_cron(line)?)),
            Cadence::EverySeconds(seconds) => CompiledKind::Every((*seconds).max(1) * 1000),
        };
        let compiled = Compiled { kind, zone };
        if let (CompiledKind::Cron(_), Cadence::Cron(line)) = (&compiled.kind, &self.cadence) {
            // Without a year field every pattern repeats within 28 years (weekdays and leap
            // days line up again), so one search from any start finds a time if one exists.
            if compiled.next_after(CAN_FIRE_FROM_MS).is_none() {
                return Err(ScheduleError::NeverFires(line.clone()));
            }
        }
        Ok(compiled)
    }

    /// A short text that changes whenever the due times would: kept with the stored due time,
    /// so an edited schedule starts afresh instead of catching up on the old one.
    pub fn fingerprint(&self) -> String {
        match &self.cadence {
            Cadence::Cron(line) => format!("cron {} in {}", line.trim(), self.timezone),
            Cadence::EverySeconds(seconds) => format!("every {seconds}s"),
        }
    }
}

/// 2001-01-01T00:00:00Z, where the "can it fire" search starts.
const CAN_FIRE_FROM_MS: u64 = 978_307_200_000;

/// A five-field cron line, in croner's words when it is wrong.
pub fn parse_cron(line: &str) -> Result<Cron, ScheduleError> {
    let fields = line.split_whitespace().count();
    if fields != 5 && !line.trim_start().starts_with('@') {
        return Err(ScheduleError::Cron(format!(
            "cron must have five fields (minute hour day-of-month month day-of-week), like \"0 9 * * 1-5\"; {line:?} has {fields}"
        )));
    }
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
        .parse(line.trim())
        .map_err(|error| ScheduleError::Cron(format!("cron {line:?} is not valid: {error}")))
}

impl Compiled {
    /// The first due time strictly after `after_ms`; `None` only for a cron line that never
    /// fires (refused by [`Schedule::compile`]) or past the year 5000.
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        match &self.kind {
            CompiledKind::Every(period) => Some((after_ms / period + 1) * period),
            CompiledKind::Cron(cron) => {
                let start = self.zoned(after_ms)?;
                let next = cron.find_next_occurrence(&start, false).ok()?;
                to_ms(next.timestamp())
            }
        }
    }

    /// The last due time at or before `at_ms`, if any.
    pub fn latest_at_or_before(&self, at_ms: u64) -> Option<u64> {
        match &self.kind {
            CompiledKind::Every(period) => Some(at_ms / period * period),
            CompiledKind::Cron(cron) => {
                let start = self.zoned(at_ms)?;
                let previous = cron.find_previous_occurrence(&start, true).ok()?;
                to_ms(previous.timestamp())
            }
        }
    }

    /// `at_ms` as RFC 3339 with the schedule zone's offset then (`2026-03-29T09:00:00+02:00`),
    /// what `{scheduled_time}` shows.
    pub fn rfc3339(&self, at_ms: u64) -> String {
        match self.zoned(at_ms) {
            Some(zoned) => zoned
                .timestamp()
                .display_with_offset(zoned.offset())
                .to_string(),
            None => at_ms.to_string(),
        }
    }

    fn zoned(&self, ms: u64) -> Option<Zoned> {
        let timestamp = Timestamp::from_millisecond(i64::try_from(ms).ok()?).ok()?;
        Some(timestamp.to_zoned(self.zone.clone()))
    }
}

fn to_ms(timestamp: Timestamp) -> Option<u64> {
    u64::try_from(timestamp.as_millisecond()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(line: &str, zone: &str) -> Compiled {
        Schedule {
            cadence: Cadence::Cron(line.into()),
            timezone: zone.into(),
        }
        .compile()
        .unwrap()
    }

    fn ms(rfc3339: &str) -> u64 {
        rfc3339.parse::<Timestamp>().unwrap().as_millisecond() as u64
    }

    #[test]
    fn a_weekday_cron_in_a_zone() {
        let schedule = cron("0 9 * * 1-5", "Europe/Berlin");
        // Friday 2026-12-04 10:00 in Berlin (09:00Z): the next is Monday 09:00 CET.
        let next = schedule.next_after(ms("2026-12-04T09:00:00Z")).unwrap();
        assert_eq!(schedule.rfc3339(next), "2026-12-07T09:00:00+01:00");
        assert_eq!(next, ms("2026-12-07T08:00:00Z"));
        let latest = schedule.latest_at_or_before(next + 1).unwrap();
        assert_eq!(latest, next);
        assert_eq!(
            schedule.latest_at_or_before(next - 1),
            Some(ms("2026-12-04T08:00:00Z"))
        );
    }

    #[test]
    fn daylight_saving_gaps_and_overlaps_follow_croner() {
        // Europe/Berlin springs forward on 2026-03-29 from 02:00 to 03:00.
        let fixed = cron("30 2 * * *", "Europe/Berlin");
        let next = fixed.next_after(ms("2026-03-28T12:00:00Z")).unwrap();
        // The missing 02:30 runs at the first minute after the gap, once.
        assert_eq!(fixed.rfc3339(next), "2026-03-29T03:00:00+02:00");
        let after = fixed.next_after(next).unwrap();
        assert_eq!(fixed.rfc3339(after), "2026-03-30T02:30:00+02:00");
        // It falls back on 2026-10-25 from 03:00 to 02:00: a fixed 02:30 runs once.
        let first = fixed.next_after(ms("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(fixed.rfc3339(first), "2026-10-25T02:30:00+02:00");
        let second = fixed.next_after(first).unwrap();
        assert_eq!(fixed.rfc3339(second), "2026-10-26T02:30:00+01:00");
    }

    #[test]
    fn every_counts_from_the_epoch() {
        let every = Schedule {
            cadence: Cadence::EverySeconds(15 * 60),
            timezone: DEFAULT_TIMEZONE.into(),
        }
        .compile()
        .unwrap();
        assert_eq!(
            every.next_after(ms("2026-12-06T07:31:10Z")),
            Some(ms("2026-12-06T07:45:00Z"))
        );
        assert_eq!(
            every.next_after(ms("2026-12-06T07:45:00Z")),
            Some(ms("2026-12-06T08:00:00Z"))
        );
        assert_eq!(
            every.latest_at_or_before(ms("2026-12-06T07:45:00Z")),
            Some(ms("2026-12-06T07:45:00Z"))
        );
        assert_eq!(
            every.rfc3339(ms("2026-12-06T07:45:00Z")),
            "2026-12-06T07:45:00+00:00"
        );
    }

    #[test]
    fn every_in_a_zone_keeps_its_instants_and_writes_the_zones_offset() {
        let every = Schedule {
            cadence: Cadence::EverySeconds(15 * 60),
            timezone: "Asia/Kolkata".into(),
        }
        .compile()
        .unwrap();
        assert_eq!(
            every.next_after(ms("2026-12-06T07:31:10Z")),
            Some(ms("2026-12-06T07:45:00Z"))
        );
        assert_eq!(
            every.rfc3339(ms("2026-12-06T07:45:00Z")),
            "2026-12-06T13:15:00+05:30"
        );
    }

    #[test]
    fn bad_schedules_say_why() {
        let compile = |line: &str, zone: &str| {
            Schedule {
                cadence: Cadence::Cron(line.into()),
                timezone: zone.into(),
            }
            .compile()
            .unwrap_err()
            .to_string()
        };
        assert!(compile("0 9 * *", "UTC").contains("five fields"));
        assert!(compile("0 0 9 * * *", "UTC").contains("has 6"));
        assert!(compile("61 9 * * *", "UTC").contains("not valid"));
        assert!(compile("0 0 30 2 *", "UTC").contains("never fires"));
        assert!(compile("0 9 * * *", "Mars/Olympus").contains("unknown time zone"));
    }
}
