//! What an event says about the requests that trigger it: `[auth]` (who may call it), `[[when]]`
//! (which requests run it) and `[variables]` (friendly names for parts of the request).

use std::path::Path;

use sha2::{Digest, Sha256};
use toml::de::DeValue;
use toml::Spanned;

use super::condition::read_condition;
use super::ctx::Ctx;
use crate::events::condition::Condition;
use crate::events::model::{
    EventAuth, MappingValue, SecretSource, SignatureEncoding, VariableMapping,
};
use crate::events::names::{is_reserved, BUILTIN_NAMES, RESERVED_PREFIXES};
use crate::lang::templates::Template;
use crate::problem::{describe, Checked, TableReader};

/// The most `[variables]` entries an event may have.
pub const MAX_VARIABLE_MAPPINGS: usize = 64;
/// The most `[[when]]` tables an event may have.
pub const MAX_WHEN_CONDITIONS: usize = 32;
/// The most elements a `[variables]` join renders.
pub const MAX_JOIN_LIMIT: i128 = 100;
/// The elements a join renders when it does not say.
pub const DEFAULT_JOIN_LIMIT: usize = 10;

/// `[auth]`; the bot's API key when the table is left out. A secret that cannot be read now is
/// a problem, so the event is not loaded and `hookbot check` says why.
pub(super) fn read_auth(root: &mut TableReader<'_, '_>, file: &Path) -> Checked<EventAuth> {
    let Some(table) = root.optional_table("auth", "[auth]")? else {
        return Ok(EventAuth::ApiKey);
    };
    let mut table = table.with_key_prefix("auth.");
    let schemes = EventAuth::SCHEMES.join(", ");
    if let Some(secret) = table.unlisted("secret") {
        table.report(
            secret.span(),
            "never write the secret itself in the event file: name where to read it with \
             auth.secret_env = \"VARIABLE\" or auth.secret_file = \"path\"",
        );
    }
    let scheme = table.required_string("scheme");
    let secret_env = table.optional_string("secret_env");
    let secret_file = table.optional_string("secret_file");
    let header = table.optional_string("header");
    let encoding = table.optional_string("encoding");
    let allow_bot_key = table.optional_bool("allow_bot_key");
    let allow_bot_key_span = table.optional("allow_bot_key").map(|value| value.span());
    let table_span = table.span();
    let scheme = scheme.and_then(|scheme| {
        if EventAuth::SCHEMES.contains(scheme.get_ref()) {
            Ok(scheme)
        } else {
            Err(table.report(
                scheme.span(),
                format!(
                    "unknown auth.scheme {:?}; expected one of: {schemes}",
                    scheme.get_ref()
                ),
            ))
        }
    });
    let (scheme, secret_env, secret_file, header, encoding, allow_bot_key) = (
        scheme?,
        secret_env?,
        secret_file?,
        header?,
        encoding?,
        allow_bot_key?,
    );
    let name = *scheme.get_ref();
    // Keys a scheme does not use are mistakes, not options to ignore.
    let not_used = |key: &str, span: Option<std::ops::Range<usize>>| {
        span.map(|span| {
            table.report(
                span,
                format!("auth.{key} is not used by scheme {name:?}; leave it out"),
            )
        })
    };
    let mut unused = Vec::new();
    if name == "api_key" {
        unused.push(not_used(
            "secret_env",
            secret_env.as_ref().map(Spanned::span),
        ));
        unused.push(not_used(
            "secret_file",
            secret_file.as_ref().map(Spanned::span),
        ));
    }
    if name != "hmac" {
        unused.push(not_used("header", header.as_ref().map(Spanned::span)));
        unused.push(not_used("encoding", encoding.as_ref().map(Spanned::span)));
    }
    if name != "key" {
        unused.push(not_used("allow_bot_key", allow_bot_key_span));
    }
    table.finish();
    if unused.iter().any(Option::is_some) {
        return Err(crate::problem::Reported);
    }
    if name == "api_key" {
        return Ok(EventAuth::ApiKey);
    }

    let report = |span: std::ops::Range<usize>, message: String| root.report(span, message);
    let (source, source_span) = match (secret_env, secret_file) {
        (Some(env), Some(path)) => {
            report(
                path.span(),
                "auth takes one of secret_env and secret_file, not both".to_owned(),
            );
            let _ = env;
            return Err(crate::problem::Reported);
        }
        (Some(env), None) => {
            let variable = env.get_ref().trim();
            if variable.is_empty() {
                return Err(report(
                    env.span(),
                    "auth.secret_env must name an environment variable".to_owned(),
                ));
            }
            (SecretSource::Env(variable.to_owned()), env.span())
        }
        (None, Some(path)) => {
            let written = Path::new(path.get_ref());
            let resolved = match file.parent() {
                Some(folder) if written.is_relative() => folder.join(written),
                _ => written.to_path_buf(),
            };
            (
                SecretSource::File(resolved.display().to_string()),
                path.span(),
            )
        }
        (None, None) => {
            return Err(report(
                table_span,
                format!(
                    "scheme {name:?} needs a secret: add auth.secret_env = \"VARIABLE\" or \
                     auth.secret_file = \"path\""
                ),
            ))
        }
    };
    let not_loaded = |reason: String| {
        report(
            source_span.clone(),
            format!("{reason}; the event is not loaded until its secret can be read"),
        )
    };
    let auth = match name {
        "key" => {
            let key = source.read().map_err(not_loaded)?;
            let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
            EventAuth::Key {
                key_hash: hash.iter().map(|byte| format!("{byte:02x}")).collect(),
                allow_bot_key: allow_bot_key.unwrap_or(false),
            }
        }
        "github" => EventAuth::Github { secret: source },
        "stripe" => EventAuth::Stripe { secret: source },
        "standard_webhooks" => EventAuth::StandardWebhooks { secret: source },
        "hmac" => {
            let Some(header) = header else {
                return Err(report(
                    table_span,
                    "scheme \"hmac\" needs auth.header, the header that carries the signature"
                        .to_owned(),
                ));
            };
            if http::HeaderName::from_bytes(header.get_ref().as_bytes()).is_err() {
                return Err(report(
                    header.span(),
                    format!(
                        "auth.header must be an HTTP header name, got {:?}",
                        header.get_ref()
                    ),
                ));
            }
            let encoding = match encoding.as_ref().map(|e| *e.get_ref()) {
                None | Some("hex") => SignatureEncoding::Hex,
                Some("base64") => SignatureEncoding::Base64,
                Some(other) => {
                    return Err(report(
                        encoding.expect("read").span(),
                        format!("auth.encoding must be \"hex\" or \"base64\", got {other:?}"),
                    ))
                }
            };
            EventAuth::Hmac {
                secret: source,
                header: header.get_ref().to_string(),
                encoding,
            }
        }
        other => unreachable!("{other} was checked against the schemes"),
    };
    if let Some(Err(reason)) = auth.signing_key() {
        return Err(not_loaded(reason));
    }
    Ok(auth)
}

/// `[[when]]`: condition tables, as an `if` action's `condition` takes them, except `has_role`
/// (a request has no member to ask Discord about).
pub(super) fn read_when(
    ctx: &Ctx<'_, '_>,
    root: &mut TableReader<'_, '_>,
) -> Checked<Vec<Condition>> {
    let Some(items) = root.optional_tables("when", "[[when]] condition")? else {
        return Ok(Vec::new());
    };
    if items.get_ref().len() > MAX_WHEN_CONDITIONS {
        return Err(root.report(
            items.span(),
            format!("an event takes at most {MAX_WHEN_CONDITIONS} [[when]] tables"),
        ));
    }
    let read: Vec<Checked<Condition>> = items
        .into_inner()
        .into_iter()
        .map(|item| {
            let item = item?;
            let span = item.span();
            let condition = read_condition(ctx, item)?;
            if uses_role(&condition) {
                return Err(ctx.checker.report(
                    span,
                    "has_role cannot filter a request: there is no member to check before the \
                     run starts; use it in an if action",
                ));
            }
            Ok(condition)
        })
        .collect();
    read.into_iter().collect()
}

fn uses_role(condition: &Condition) -> bool {
    match condition {
        Condition::HasRole { .. } => true,
        Condition::All(list) | Condition::Any(list) => list.iter().any(uses_role),
        Condition::Not(inner) => uses_role(inner),
        _ => false,
    }
}

/// `[variables]`: `name = "template"`, or `name = { each = "{body.list}", item = "…{item.x}…",
/// separator = "\n", limit = 10 }`.
pub(super) fn read_variables(
    ctx: &Ctx<'_, '_>,
    root: &mut TableReader<'_, '_>,
) -> Checked<Vec<VariableMapping>> {
    let Some(table) = root.optional_table("variables", "[variables]")? else {
        return Ok(Vec::new());
    };
    let span = table.span();
    let entries = table.into_entries();
    if entries.len() > MAX_VARIABLE_MAPPINGS {
        return Err(root.report(
            span,
            format!("[variables] takes at most {MAX_VARIABLE_MAPPINGS} names"),
        ));
    }
    let read: Vec<Checked<VariableMapping>> = entries
        .into_iter()
        .map(|(name, value)| {
            let checked_name = check_name(root, &name);
            let value = read_mapping(ctx, root, name.get_ref(), value);
            checked_name?;
            Ok(VariableMapping {
                name: name.get_ref().to_string(),
                value: value?,
            })
        })
        .collect();
    read.into_iter().collect()
}

fn check_name(root: &TableReader<'_, '_>, name: &Spanned<&str>) -> Checked<()> {
    let text = *name.get_ref();
    let valid = (1..=super::limits::MAX_VARIABLE_NAME_CHARS).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-');
    let message = if !valid {
        format!("variable name {text:?} must be 1-64 of A-Z a-z 0-9 _ -")
    } else if BUILTIN_NAMES.contains(&text) {
        format!("{{{text}}} is a built-in name every run sets; choose another name")
    } else if RESERVED_PREFIXES.contains(&text) || is_reserved(text) {
        format!("{{{text}}} is a reserved namespace; choose another name")
    } else {
        return Ok(());
    };
    Err(root.report(name.span(), message))
}

fn read_mapping(
    ctx: &Ctx<'_, '_>,
    root: &TableReader<'_, '_>,
    name: &str,
    value: &Spanned<DeValue<'_>>,
) -> Checked<MappingValue> {
    match value.get_ref() {
        DeValue::String(text) => Ok(MappingValue::Template(ctx.template(text, value.span()))),
        DeValue::Table(_) => {
            let mut table =
                TableReader::of_value(root.checker(), value, name, format!("[variables] {name}"))?
                    .with_key_prefix(format!("variables.{name}."));
            let each = table.required_string("each").and_then(|each| {
                let path = each
                    .get_ref()
                    .strip_prefix('{')
                    .and_then(|rest| rest.strip_suffix('}'))
                    .filter(|path| {
                        (path.starts_with("body.") || *path == "body") && !path.contains(['{', '}'])
                    });
                path.map(str::to_owned).ok_or_else(|| {
                    table.report(
                        each.span(),
                        format!(
                            "variables.{name}.each must name one array of the body, like \
                             \"{{body.commits}}\", got {:?}",
                            each.get_ref()
                        ),
                    )
                })
            });
            let item = table
                .required_string("item")
                .map(|item| Template::new(*item.get_ref()));
            let separator = table.optional_string("separator");
            let limit = table.optional_integer("limit", "a whole number from 1 to 100");
            let limit = limit.and_then(|limit| match limit {
                None => Ok(DEFAULT_JOIN_LIMIT),
                Some(limit) if (1..=MAX_JOIN_LIMIT).contains(limit.get_ref()) => {
                    Ok(*limit.get_ref() as usize)
                }
                Some(limit) => Err(table.report(
                    limit.span(),
                    format!(
                        "variables.{name}.limit must be a whole number from 1 to {MAX_JOIN_LIMIT}"
                    ),
                )),
            });
            table.finish();
            Ok(MappingValue::Join {
                each: each?,
                item: item?,
                separator: separator?.map_or_else(|| "\n".to_owned(), |s| s.get_ref().to_string()),
                limit: limit?,
            })
        }
        other => Err(root.report(
            value.span(),
            format!(
                "variables.{name} must be a template like \"{{body.sender.login}}\" or a table \
                 with each and item, got {}",
                describe(other)
            ),
        )),
    }
}
