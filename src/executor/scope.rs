//! What a run's templates can see, and in which order: built-ins, `{loop.…}`, `{error.…}`,
//! `{var.…}`, the run's own variables and saved results, then the caller's variables.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

use crate::engine::{Store, VariableScope};
use crate::lang::request::RequestVariables;
use crate::lang::templates::{json_path, Lookup, Variables};
use crate::run::ActionError;

/// One level of `loop`: `{loop.index}` counts from 0, `{loop.count}` from 1.
#[derive(Debug, Clone, Copy)]
pub struct LoopFrame {
    pub index: u64,
}

/// Values the run made itself: `math`/`get_variable` variables and `save_as` results.
#[derive(Debug, Default)]
pub struct Locals {
    /// `{name}` set by `math` or `get_variable`.
    pub plain: BTreeMap<String, String>,
    /// `{name.field…}` kept by `save_as`.
    pub saved: BTreeMap<String, Value>,
}

/// Persistent variables for `{var.…}`, read live from the store in the event's server.
pub struct Persistent<'a> {
    pub store: &'a Store,
    pub server: u64,
}

impl Persistent<'_> {
    /// `{var.NAME}` (the server's, else the global one), `{var.global.NAME}`,
    /// `{var.server.NAME}`, `{var.user.ID.NAME}`, `{var.channel.ID.NAME}`.
    fn lookup(&self, rest: &str) -> Option<String> {
        // Templates render synchronously, so the read is driven to completion here. The
        // embedded engine answers from memory without waiting: its future is ready on the first
        // poll and no async thread is held. An engine that waits on a server must not be read
        // this way; for it the interpreter reads the `{var.…}` names (`Template::names`) before
        // rendering.
        let read = |scope: VariableScope, name: &str| match futures::executor::block_on(
            self.store.variable(&scope, name),
        ) {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(%error, "cannot read the persistent variable {name:?}");
                None
            }
        };
        let mut parts = rest.splitn(3, '.');
        let first = parts.next()?;
        match (first, parts.next(), parts.next()) {
            ("global", Some(name), None) => read(VariableScope::Global, name),
            ("server", Some(name), None) => read(VariableScope::Server(self.server), name),
            ("user", Some(id), Some(name)) => read(
                VariableScope::User {
                    server: self.server,
                    user: id.parse().ok()?,
                },
                name,
            ),
            ("channel", Some(id), Some(name)) => {
                read(VariableScope::Channel(id.parse().ok()?), name)
            }
            _ => read(VariableScope::Server(self.server), rest)
                .or_else(|| read(VariableScope::Global, rest)),
        }
    }
}

/// Everything a template of the run can read, borrowed from the interpreter for one render.
pub struct Scope<'a> {
    pub builtins: &'a Variables,
    pub loops: &'a [LoopFrame],
    pub loop_counts: &'a [u64],
    pub errors: &'a [ActionError],
    pub persistent: Option<Persistent<'a>>,
    pub locals: &'a Locals,
    /// `{body…}`, `{header.…}`, `{query.…}` of the request that started the run.
    pub request: RequestVariables<'a>,
    pub caller: &'a Variables,
}

impl Lookup for Scope<'_> {
    fn lookup(&self, name: &str) -> Option<Cow<'_, str>> {
        if let Some(value) = self.builtins.get(name) {
            return Some(Cow::Borrowed(value));
        }
        if let Some(field) = name.strip_prefix("loop.") {
            let index = self.loops.last()?.index;
            return match field {
                "index" => Some(Cow::Owned(index.to_string())),
                "count" => Some(Cow::Owned((index + 1).to_string())),
                "total" => self.loop_counts.last().map(|n| Cow::Owned(n.to_string())),
                _ => None,
            };
        }
        if let Some(field) = name.strip_prefix("error.") {
            let error = self.errors.last()?;
            return match field {
                "message" => Some(Cow::Borrowed(error.message.as_str())),
                "code" => Some(Cow::Borrowed(error.code.as_str())),
                _ => None,
            };
        }
        if let Some(rest) = name.strip_prefix("var.") {
            return self.persistent.as_ref()?.lookup(rest).map(Cow::Owned);
        }
        if let Some(value) = self.locals.plain.get(name) {
            return Some(Cow::Borrowed(value));
        }
        if let Some((saved, path)) = name.split_once('.') {
            if let Some(result) = self.locals.saved.get(saved) {
                return json_path(result, path);
            }
        } else if let Some(result) = self.locals.saved.get(name) {
            return json_path(result, "");
        }
        if let Some(value) = self.request.lookup(name) {
            return Some(value);
        }
        self.caller.lookup(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::templates::Template;
    use serde_json::json;

    static NO_FIELDS: BTreeMap<String, String> = BTreeMap::new();

    fn render(scope: &Scope<'_>, text: &str) -> String {
        Template::new(text).render(scope)
    }

    #[test]
    fn layers_in_order() {
        let mut builtins = Variables::new();
        builtins.insert("run_id", "run_1");
        let mut caller = Variables::new();
        caller.insert("run_id", "forged");
        caller.insert("who", "caller");
        caller.insert("total", "from caller");
        let mut locals = Locals::default();
        locals.plain.insert("total".into(), "42".into());
        locals.saved.insert(
            "msg".into(),
            json!({"id": "9", "json": {"items": [{"n": 1}], "ok": true}}),
        );
        let errors = [ActionError {
            message: "Missing Permissions".into(),
            code: "50013".into(),
            discord_code: Some(50013),
            http_status: Some(403),
            retry_after_ms: None,
        }];
        let scope = Scope {
            builtins: &builtins,
            loops: &[LoopFrame { index: 0 }, LoopFrame { index: 4 }],
            loop_counts: &[2, 10],
            errors: &errors,
            persistent: None,
            locals: &locals,
            request: RequestVariables::new(None, &NO_FIELDS, &NO_FIELDS),
            caller: &caller,
        };
        assert_eq!(render(&scope, "{run_id} {who} {total}"), "run_1 caller 42");
        assert_eq!(
            render(&scope, "{loop.index}/{loop.count}/{loop.total}"),
            "4/5/10"
        );
        assert_eq!(
            render(&scope, "{error.message} ({error.code})"),
            "Missing Permissions (50013)"
        );
        assert_eq!(
            render(
                &scope,
                "{msg.id} {msg.json.items.0.n} {msg.json.ok} {msg.nope}"
            ),
            "9 1 true {msg.nope}"
        );
        assert_eq!(render(&scope, "{msg.json.items}"), r#"[{"n":1}]"#);
    }

    #[test]
    fn loop_and_error_names_outside_their_blocks_stay_as_written() {
        let empty = Variables::new();
        let locals = Locals::default();
        let scope = Scope {
            builtins: &empty,
            loops: &[],
            loop_counts: &[],
            errors: &[],
            persistent: None,
            locals: &locals,
            request: RequestVariables::new(None, &NO_FIELDS, &NO_FIELDS),
            caller: &empty,
        };
        assert_eq!(
            render(&scope, "{loop.index} {error.code}"),
            "{loop.index} {error.code}"
        );
    }

    #[tokio::test]
    async fn persistent_variables_by_scope() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db")).unwrap();
        store
            .set_variable(&VariableScope::Global, "motd", "hello")
            .await
            .unwrap();
        store
            .set_variable(&VariableScope::Server(7), "count", "3")
            .await
            .unwrap();
        store
            .set_variable(&VariableScope::Global, "count", "global")
            .await
            .unwrap();
        store
            .set_variable(&VariableScope::User { server: 7, user: 5 }, "points", "10")
            .await
            .unwrap();
        store
            .set_variable(&VariableScope::Channel(8), "topic", "t")
            .await
            .unwrap();
        let empty = Variables::new();
        let locals = Locals::default();
        let scope = Scope {
            builtins: &empty,
            loops: &[],
            loop_counts: &[],
            errors: &[],
            persistent: Some(Persistent {
                store: &store,
                server: 7,
            }),
            locals: &locals,
            request: RequestVariables::new(None, &NO_FIELDS, &NO_FIELDS),
            caller: &empty,
        };
        assert_eq!(
            render(
                &scope,
                "{var.count} {var.motd} {var.global.count} {var.server.count} {var.user.5.points} {var.channel.8.topic} {var.none}"
            ),
            "3 hello global 3 10 t {var.none}"
        );
    }
}
