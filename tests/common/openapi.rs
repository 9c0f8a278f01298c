//! Checks request bodies against Discord's official OpenAPI 3.1 spec
//! (`tests/data/discord-openapi.json`), so the tests notice when the bot sends
//! something the real Discord would answer with a 400.
//!
//! The spec is loaded once per test binary and registered as a single JSON
//! Schema 2020-12 document. Each operation's request schema is compiled on first
//! use as `{"$ref": "<spec>#/paths/.../schema"}`: the `#/components/schemas/...`
//! refs inside it then resolve against the spec itself, and every compiled
//! validator shares the one parsed copy of the spec instead of embedding its
//! own copy of `components`.

// This file is compiled into several test binaries and each uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, Retrieve, Uri, ValidationError, Validator};
use serde_json::Value;

/// Where the spec is registered. Any absolute URI works; a URN makes it obvious
/// that nothing is fetched from it.
const SPEC_URI: &str = "urn:hookbot:discord-openapi";

pub struct DiscordSpec {
    spec: Value,
    /// The spec as a schema resource, cloned (cheaply: documents are behind
    /// `Arc`s) into every validator we compile.
    registry: Registry,
    routes: Vec<Route>,
    /// Compiled validators by the JSON pointer of their schema in the spec.
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

struct Route {
    /// The spec's path template, e.g. `/channels/{channel_id}/messages`.
    template: String,
    /// One entry per segment: `Some(literal)`, or `None` for a `{param}`.
    segments: Vec<Option<String>>,
}

impl DiscordSpec {
    /// The spec, parsed on first use and shared by every test in the binary.
    pub fn get() -> &'static DiscordSpec {
        static SPEC: OnceLock<DiscordSpec> = OnceLock::new();
        SPEC.get_or_init(DiscordSpec::load)
    }

    /// A copy of its own, parsed now with nothing compiled yet: for the validator's own tests,
    /// which must not see what other tests compiled in the shared one.
    pub fn load() -> DiscordSpec {
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/discord-openapi.json"
        );
        let text =
            std::fs::read_to_string(file).unwrap_or_else(|err| panic!("cannot read {file}: {err}"));
        let spec: Value =
            serde_json::from_str(&text).unwrap_or_else(|err| panic!("{file} is not JSON: {err}"));
        DiscordSpec::new(spec)
    }

    /// How many request schemas have been compiled so far.
    pub fn compiled_schemas(&self) -> usize {
        self.lock().len()
    }

    fn new(spec: Value) -> DiscordSpec {
        let routes = spec["paths"]
            .as_object()
            .expect("the spec has a `paths` object")
            .keys()
            .map(|template| Route {
                template: template.clone(),
                segments: segments(template)
                    .map(|s| {
                        let is_param = s.starts_with('{') && s.ends_with('}');
                        (!is_param).then(|| s.to_owned())
                    })
                    .collect(),
            })
            .collect();
        // OpenAPI 3.1 schemas are JSON Schema 2020-12. The spec has no `$schema`,
        // so say so instead of relying on the library's default draft.
        let registry = Registry::options()
            .draft(Draft::Draft202012)
            .retriever(NoFetch)
            .build([(SPEC_URI, Draft::Draft202012.create_resource(spec.clone()))])
            .expect("the spec registers as a schema resource");
        DiscordSpec {
            spec,
            registry,
            routes,
            validators: Mutex::new(HashMap::new()),
        }
    }

    /// Finds the operation for `method` and `path` (the `/api` or `/api/v10`
    /// prefix is optional) and validates `body` against its `application/json`
    /// request body schema.
    ///
    /// A `None` body passes for any operation the spec has: only bodies that
    /// were actually sent are checked, never whether one should have been.
    pub fn validate(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(), Vec<String>> {
        let method = method.to_ascii_uppercase();
        let Some(route) = self.find_route(path) else {
            return Err(vec![format!(
                "{method} {path}: no such route in Discord's OpenAPI spec"
            )]);
        };
        let label = format!("{method} {}", route.template);
        let operation = format!(
            "/paths/{}/{}",
            escape_pointer_token(&route.template),
            method.to_ascii_lowercase()
        );
        if self.spec.pointer(&operation).is_none() {
            return Err(vec![format!(
                "{label}: the spec has no such operation (path {path})"
            )]);
        }
        let Some(body) = body else {
            return Ok(());
        };
        let schema = format!("{operation}/requestBody/content/application~1json/schema");
        if self.spec.pointer(&schema).is_none() {
            return Err(vec![format!(
                "{label}: the operation takes no JSON body, but one was sent"
            )]);
        }
        let errors = self.check(&schema, body, "");
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors
                .into_iter()
                .map(|e| format!("{label}: {e}"))
                .collect())
        }
    }

    /// The route whose template matches `path`. When several do, a literal
    /// segment beats a `{param}` at the first position where they differ, so
    /// `/users/@me/channels` wins over `/users/{user_id}/channels`.
    fn find_route(&self, path: &str) -> Option<&Route> {
        let path = path.split('?').next().unwrap_or_default();
        let all: Vec<&str> = segments(path).collect();
        let wanted = strip_api_prefix(&all);
        self.routes
            .iter()
            .filter(|route| {
                route.segments.len() == wanted.len()
                    && route
                        .segments
                        .iter()
                        .zip(wanted)
                        .all(|(seg, got)| match seg {
                            Some(literal) => literal == got,
                            None => true,
                        })
            })
            // `Vec<bool>` compares lexicographically, so earlier literals dominate.
            .max_by_key(|route| {
                route
                    .segments
                    .iter()
                    .map(Option::is_some)
                    .collect::<Vec<_>>()
            })
    }

    /// Validates `instance` against the schema at `pointer` in the spec and
    /// describes each violation as `<instance path>: <message>`; `at` is the
    /// instance path of `instance` within the whole body.
    fn check(&self, pointer: &str, instance: &Value, at: &str) -> Vec<String> {
        let validator = match self.validator(pointer) {
            Ok(validator) => validator,
            Err(err) => return vec![format!("cannot compile the schema at {pointer}: {err}")],
        };
        let mut out = Vec::new();
        for error in validator.iter_errors(instance) {
            let location = format!("{at}{}", error.instance_path);
            let explained = match error.kind {
                ValidationErrorKind::OneOfNotValid | ValidationErrorKind::AnyOf => {
                    self.explain_choice(pointer, &error, &location)
                }
                _ => None,
            };
            match explained {
                Some(details) => out.extend(details),
                None => out.push(format!("{}: {error}", display_location(&location))),
            }
        }
        out
    }

    /// A failed `oneOf`/`anyOf` only says "not valid under any of the schemas",
    /// and the spec wraps nearly every field in `oneOf: [{type: null}, ...]` and
    /// every component or callback in a union told apart by its `type`. So when
    /// only one alternative can apply (the non-null one for a non-null value, or
    /// the one whose `type` matches), report that alternative's own errors; when
    /// the alternatives are all `const`s (how the spec writes enums), list the
    /// allowed values. Otherwise `None`: keep the library's message.
    fn explain_choice(&self, root: &str, error: &ValidationError, at: &str) -> Option<Vec<String>> {
        let choice = self.resolve_schema_path(root, error.schema_path.as_str())?;
        let alternatives = self.spec.pointer(&choice)?.as_array()?;
        let instance: &Value = &error.instance;

        let consts: Option<Vec<&Value>> = alternatives.iter().map(|alt| alt.get("const")).collect();
        if let Some(consts) = consts {
            let allowed = consts
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            return Some(vec![format!(
                "{}: {instance} is not one of {allowed}",
                display_location(at)
            )]);
        }

        let mut candidates = (0..alternatives.len())
            .filter(|&index| self.could_apply(&alternatives[index], instance));
        let index = candidates.next()?;
        if candidates.next().is_some() {
            return None;
        }
        let errors = self.check(&format!("{choice}/{index}"), instance, at);
        // Empty would mean the alternative accepts the value after all; keep the
        // library's message rather than claim success.
        (!errors.is_empty()).then_some(errors)
    }

    /// Whether `instance` is meant for the union alternative `schema`, judging
    /// only by nullness and by the properties the alternative pins to fixed
    /// values (its discriminator, in practice `type`).
    fn could_apply<'s>(&'s self, mut schema: &'s Value, instance: &Value) -> bool {
        while let Some(target) = schema.get("$ref").and_then(Value::as_str) {
            match target
                .strip_prefix('#')
                .and_then(|pointer| self.spec.pointer(pointer))
            {
                Some(resolved) => schema = resolved,
                None => return true,
            }
        }
        if is_null_schema(schema) {
            return instance.is_null();
        }
        let (Some(object), Some(properties)) = (
            instance.as_object(),
            schema.get("properties").and_then(Value::as_object),
        ) else {
            return true;
        };
        properties.iter().all(|(name, property)| {
            let Some(value) = object.get(name) else {
                return true;
            };
            let const_ok = property.get("const").map_or(true, |c| c == value);
            let enum_ok = property
                .get("enum")
                .and_then(Value::as_array)
                .map_or(true, |options| options.contains(value));
            const_ok && enum_ok
        })
    }

    /// Follows a validator's schema path (e.g. `/$ref/properties/embeds/items/$ref/oneOf`)
    /// from the schema at `root` and returns the spec pointer it ends at.
    fn resolve_schema_path(&self, root: &str, schema_path: &str) -> Option<String> {
        let mut tokens = schema_path.split('/').skip(1);
        // The compiled schema is `{"$ref": <root>}`, so the path starts by entering `root`.
        if tokens.next() != Some("$ref") {
            return None;
        }
        let mut pointer = root.to_owned();
        for token in tokens {
            let token = token.replace("~1", "/").replace("~0", "~");
            if token == "$ref" {
                let target = self.spec.pointer(&pointer)?.get("$ref")?.as_str()?;
                // The spec only has local refs, written without percent-encoding.
                pointer = target.strip_prefix('#')?.to_owned();
            } else {
                write!(pointer, "/{}", escape_pointer_token(&token)).ok()?;
            }
        }
        Some(pointer)
    }

    fn validator(&self, pointer: &str) -> Result<Arc<Validator>, String> {
        if let Some(validator) = self.lock().get(pointer) {
            return Ok(Arc::clone(validator));
        }
        // Compile without holding the lock so tests running in parallel are not
        // serialized behind each other's compilations; a rare duplicate is harmless.
        let schema =
            serde_json::json!({ "$ref": format!("{SPEC_URI}#{}", encode_fragment(pointer)) });
        let validator = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(self.registry.clone())
            .with_retriever(NoFetch)
            // 2020-12 treats `format` as an annotation by default. Checking the
            // formats the library knows (`uri`, `date-time`) catches malformed embed
            // URLs and timestamps, which Discord rejects too; Discord's own formats
            // (`snowflake`, `int64`, ...) are unknown to it and ignored.
            .should_validate_formats(true)
            .should_ignore_unknown_formats(true)
            .build(&schema)
            .map_err(|err| err.to_string())?;
        let validator = Arc::new(validator);
        Ok(Arc::clone(
            self.lock().entry(pointer.to_owned()).or_insert(validator),
        ))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Validator>>> {
        // A test that panicked while holding the lock leaves a usable cache behind.
        self.validators
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Refuses every external reference: the spec is self-contained, and a test
/// must never reach out to the network. (The default retriever would already
/// refuse with the crate's default features off; this keeps it so if they change.)
struct NoFetch;

impl Retrieve for NoFetch {
    fn retrieve(
        &self,
        uri: &Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!("refusing to fetch external schema {uri}").into())
    }
}

/// Drops the `api` and optional `v10` segments that prefix every request path
/// but none of the spec's templates.
fn strip_api_prefix<'a>(segments: &'a [&'a str]) -> &'a [&'a str] {
    let Some(rest) = segments.strip_prefix(&["api"]) else {
        return segments;
    };
    match rest.split_first() {
        Some((version, tail))
            if version.len() > 1
                && version.starts_with('v')
                && version[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            tail
        }
        _ => rest,
    }
}

/// Path segments, ignoring empty ones from leading, trailing or doubled slashes.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn is_null_schema(schema: &Value) -> bool {
    schema
        .as_object()
        .is_some_and(|o| o.len() == 1 && o.get("type") == Some(&Value::from("null")))
}

/// Escapes one JSON pointer token (RFC 6901).
fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Percent-encodes a JSON pointer for use as a URI fragment: path templates
/// contain `{` and `}`, which a URI may not.
fn encode_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for byte in pointer.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&byte) {
            out.push(char::from(byte));
        } else {
            write!(out, "%{byte:02X}").expect("writing to a String cannot fail");
        }
    }
    out
}

fn display_location(location: &str) -> &str {
    if location.is_empty() {
        "(body)"
    } else {
        location
    }
}
