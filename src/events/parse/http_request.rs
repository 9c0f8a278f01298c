//! `http_request`'s keys: method, URL, headers and a body written as TOML and sent as JSON.

use toml::de::DeValue;
use toml::Spanned;

use super::ctx::Ctx;
use super::fields::*;
use super::limits::*;
use crate::events::action::{ActionKind, HttpBodySpec};
use crate::lang::templates::Template;
use crate::problem::{describe, integer_value, Checked, Reported, TableReader};

pub(super) fn read_http_request(
    ctx: &Ctx<'_, '_>,
    t: &mut TableReader<'_, '_>,
) -> Checked<ActionKind> {
    let method = read_method(ctx, t);
    let url = read_url(ctx, t);
    let headers = read_headers(ctx, t);
    let json = t
        .optional("json")
        .map(|value| to_json(ctx, t, value))
        .transpose();
    let body = optional_value_text(ctx, t, "body");
    let rule = DurationRule {
        max: MAX_HTTP_TIMEOUT,
        zero: false,
    };
    let timeout = optional_duration(ctx, t, "timeout", rule);

    let body_key = ["json", "body"].into_iter().find(|key| t.contains(key));
    if t.contains("json") && t.contains("body") {
        let value = t.optional("body").expect("body was read");
        return Err(t.report(
            value.span(),
            "give json or body, not both: json sends a JSON document, body sends text",
        ));
    }
    if let (Some(key), Ok(method)) = (body_key, &method) {
        if matches!(method.as_str(), "GET" | "HEAD") {
            let value = t.optional(key).expect("the body was read");
            return Err(t.report(
                value.span(),
                format!(
                    "a {} request has no body; use method = \"POST\", \"PUT\", \"PATCH\" or \
                     \"DELETE\"",
                    method.as_str()
                ),
            ));
        }
    }
    let body = match (json?, body?) {
        (Some(json), _) => Some(HttpBodySpec::Json(json)),
        (None, Some(text)) => Some(HttpBodySpec::Text(text)),
        (None, None) => None,
    };
    Ok(ActionKind::HttpRequest {
        method: method?,
        url: url?,
        headers: headers?,
        body,
        timeout: timeout?,
    })
}

fn read_method(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Template> {
    let Some(method) = t.optional_string("method")? else {
        return Ok(Template::new("GET"));
    };
    let template = ctx.template(method.get_ref(), method.span());
    if !template.is_static() {
        return Ok(template);
    }
    let upper = method.get_ref().trim().to_ascii_uppercase();
    if HTTP_METHODS.contains(&upper.as_str()) {
        return Ok(Template::new(upper));
    }
    Err(t.report(
        method.span(),
        format!(
            "method must be one of: {}, got {:?}",
            HTTP_METHODS.join(", "),
            method.get_ref()
        ),
    ))
}

fn read_url(ctx: &Ctx<'_, '_>, t: &mut TableReader<'_, '_>) -> Checked<Template> {
    let url = t.required_string("url")?;
    let template = checked_text(ctx, t, "url", url.clone(), usize::MAX)?;
    let text = url.get_ref().trim();
    let lower = text.to_ascii_lowercase();
    // A URL with placeholders is judged once rendered, but a fixed start is checked now.
    let fixed_start = text.split('{').next().unwrap_or_default();
    let full_scheme = lower.starts_with("http://") || lower.starts_with("https://");
    let could_become_one = !template.is_static()
        && ("https://".starts_with(&fixed_start.to_ascii_lowercase())
            || "http://".starts_with(&fixed_start.to_ascii_lowercase()));
    if full_scheme || could_become_one {
        return Ok(template);
    }
    Err(t.report(
        url.span(),
        format!(
            "url must start with http:// or https://, got {:?}",
            url.get_ref()
        ),
    ))
}

fn read_headers(
    ctx: &Ctx<'_, '_>,
    t: &mut TableReader<'_, '_>,
) -> Checked<Vec<(String, Template)>> {
    let Some(headers) = t.optional_table("headers", "headers")? else {
        return Ok(Vec::new());
    };
    let mut read = Vec::new();
    let mut outcome = Ok(());
    for (name, value) in headers.into_entries() {
        if http::HeaderName::from_bytes(name.get_ref().as_bytes()).is_err() {
            outcome = Err(t.report(
                name.span(),
                format!(
                    "{:?} is not a valid HTTP header name; use letters, digits and - such as \
                     X-Api-Key",
                    name.get_ref()
                ),
            ));
            continue;
        }
        let text = match value.get_ref() {
            DeValue::String(text) => Some(ctx.template(text, value.span())),
            DeValue::Integer(integer) => {
                integer_value(integer).map(|n| Template::new(n.to_string()))
            }
            DeValue::Boolean(flag) => Some(Template::new(flag.to_string())),
            _ => None,
        };
        let valid = text
            .filter(|text| !text.is_static() || http::HeaderValue::from_str(text.as_str()).is_ok());
        match valid {
            Some(text) => read.push((name.get_ref().to_string(), text)),
            None => {
                outcome = Err(t.report(
                    value.span(),
                    format!(
                        "header {} must be text without line breaks, got {}",
                        name.get_ref(),
                        describe(value.get_ref())
                    ),
                ))
            }
        }
    }
    outcome.map(|()| read)
}

/// A TOML value as JSON; strings stay template text, datetimes become strings.
fn to_json(
    ctx: &Ctx<'_, '_>,
    t: &TableReader<'_, '_>,
    value: &Spanned<DeValue<'_>>,
) -> Checked<serde_json::Value> {
    use serde_json::Value as J;
    Ok(match value.get_ref() {
        DeValue::String(text) => J::String(ctx.template(text, value.span()).as_str().to_owned()),
        DeValue::Integer(integer) => {
            let number = integer_value(integer).ok_or(Reported);
            match number.map(i64::try_from) {
                Ok(Ok(number)) => J::from(number),
                _ => return Err(t.wrong_type("json", value, "a number that fits 64 bits")),
            }
        }
        DeValue::Float(float) => {
            match parse_float(float.as_str()).and_then(serde_json::Number::from_f64) {
                Some(number) => J::Number(number),
                None => return Err(t.wrong_type("json", value, "a finite number")),
            }
        }
        DeValue::Boolean(flag) => J::Bool(*flag),
        DeValue::Datetime(datetime) => J::String(datetime.to_string()),
        DeValue::Array(items) => {
            let items: Vec<Checked<J>> = items.iter().map(|item| to_json(ctx, t, item)).collect();
            J::Array(items.into_iter().collect::<Checked<_>>()?)
        }
        DeValue::Table(table) => {
            let mut map = serde_json::Map::new();
            let mut outcome = Ok(());
            for (key, item) in table.iter() {
                match to_json(ctx, t, item) {
                    Ok(item) => {
                        map.insert(key.get_ref().to_string(), item);
                    }
                    Err(reported) => outcome = Err(reported),
                }
            }
            outcome?;
            J::Object(map)
        }
    })
}
