//! Readers for one value each (counts, durations, base URLs, paths), holding it to its bounds
//! and reporting a problem that names the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;

use crate::problem::TableReader;

/// An optional whole number in `min..=max`; a problem naming the key otherwise.
pub(super) fn read_count(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    min: u64,
    max: u64,
) -> Option<u64> {
    let expected = format!("a whole number from {min} to {max}");
    let value = table.optional_integer(key, &expected).ok()??;
    match u64::try_from(*value.get_ref()) {
        Ok(count) if (min..=max).contains(&count) => Some(count),
        _ => {
            table.report(
                value.span(),
                format!(
                    "{} must be {expected}, got {}",
                    table.key_name(key),
                    value.get_ref()
                ),
            );
            None
        }
    }
}

/// An optional duration written like `"30s"`, `"10m"`, `"24h"`, `"30d"`, in `min..=max`.
pub(super) fn read_duration(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    min: Duration,
    max: Duration,
) -> Option<Duration> {
    use crate::lang::duration::{format_duration, parse_duration};
    let value = table.optional_string(key).ok()??;
    let problem = match parse_duration(value.get_ref()) {
        Ok(duration) if (min..=max).contains(&duration) => return Some(duration),
        Ok(duration) => format!(
            "{} must be from {} to {}, got {}",
            table.key_name(key),
            format_duration(min),
            format_duration(max),
            format_duration(duration)
        ),
        Err(error) => format!("{}: {error}", table.key_name(key)),
    };
    table.report(value.span(), problem);
    None
}

/// A reader for the optional `[name]` table, naming its keys `name.key`.
pub(super) fn section<'a, 't>(
    root: &mut TableReader<'a, 't>,
    name: &'static str,
) -> Option<TableReader<'a, 't>> {
    // A section that is not a table is reported by `optional_table`; its defaults stay.
    let reader = root.optional_table(name, format!("[{name}]")).ok()??;
    Some(reader.with_key_prefix(format!("{name}.")))
}

/// An optional base URL: empty means `None`; otherwise `http://` or `https://` with a host,
/// returned without trailing slashes so paths can be appended with `/`.
pub(super) fn read_base_url(
    table: &TableReader<'_, '_>,
    key: &str,
    value: &Spanned<&str>,
) -> Option<String> {
    let url = *value.get_ref();
    if url.is_empty() {
        return None;
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let has_host = rest.is_some_and(|rest| {
        !rest.is_empty() && !rest.starts_with('/') && !rest.contains(char::is_whitespace)
    });
    if !has_host {
        table.report(
            value.span(),
            format!(
                "{} must be empty or an http:// or https:// URL such as \"https://bot.example.com\", got {url:?}",
                table.key_name(key)
            ),
        );
        return None;
    }
    Some(url.trim_end_matches('/').to_owned())
}

/// A non-empty path; a relative one is taken from `base_dir`.
pub(super) fn read_path(
    table: &mut TableReader<'_, '_>,
    key: &'static str,
    base_dir: &Path,
) -> Option<PathBuf> {
    let value = table.optional_string(key).ok()??;
    if value.get_ref().is_empty() {
        table.report(
            value.span(),
            format!("{} must not be empty", table.key_name(key)),
        );
        return None;
    }
    // `join` keeps an absolute path as it is.
    Some(tidy(&base_dir.join(value.get_ref())))
}

/// Drops `.` components (`/srv/./data` → `/srv/data`) so printed paths read cleanly. `..` stays:
/// resolving it without the file system would be wrong across symlinks.
pub(super) fn tidy(path: &Path) -> PathBuf {
    path.components()
        .filter(|part| !matches!(part, std::path::Component::CurDir))
        .collect()
}

pub(super) fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}
