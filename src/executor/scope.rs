//! What a run's templates can see, and in which order: built-ins, `{loop.…}`, `{error.…}`,
//! `{var.…}` (read from the engine before the render), the run's own variables and saved
//! results, then the caller's variables.

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

/// Persistent variables for `{var.…}`: the values one action's renders may use, read from the
/// engine before it renders ([`Persistent::read`]), so a render never waits on storage.
#[derive(Debug, Default)]
pub struct Persistent {
    /// By what follows `var.` (`count`, `user.5.points`); `None`: not set, or unreadable.
    values: BTreeMap<String, Option<String>>,
}

impl Persistent {
    /// Reads, with the event's `server`, every `{var.…}` among `names` (the names between the
    /// braces, as [`Template::names`](crate::lang::templates::Template::names) gives them);
    /// other names are passed over.
    pub async fn read(store: &Store, server: u64, names: &[&str]) -> Persistent {
        let mut values = BTreeMap::new();
        for name in names {
            let Some(rest) = name.strip_prefix("var.") else {
                continue;
            };
            if !values.contains_key(rest) {
                let value = resolve(store, server, rest).await;
                values.insert(rest.to_owned(), value);
            }
        }
        Persistent { values }
    }

    fn lookup(&self, rest: &str) -> Option<&str> {
        self.values.get(rest)?.as_deref()
    }
}

/// `{var.NAME}` (the server's, else the global one), `{var.global.NAME}`,
/// `{var.server.NAME}`, `{var.user.ID.NAME}`, `{var.channel.ID.NAME}`.
async fn resolve(store: &Store, server: u64, rest: &str) -> Option<String> {
    let mut parts = rest.splitn(3, '.');
    let first = parts.next()?;
    match (first, parts.next(), parts.next()) {
        ("global", Some(name), None) => read(store, VariableScope::Global, name).await,
        ("server", Some(name), None) => read(store, VariableScope::Server(server), name).await,
        ("user", Some(id), Some(name)) => {
            let user = id.parse().ok()?;
            read(store, VariableScope::User { server, user }, name).await
        }
        ("channel", Some(id), Some(name)) => {
            read(store, VariableScope::Channel(id.parse().ok()?), name).await
        }
        _ => match read(store, VariableScope::Server(server), rest).await {
            Some(value) => Some(value),
            None => read(store, VariableScope::Global, rest).await,
        },
    }
}

/// One variable; a read error is logged and reads as unset, so the placeholder stays as written.
async fn read(store: &Store, scope: VariableScope, name: &str) -> Option<String> {
    match store.variable(&scope, name).await {
        Ok(value) => value,
        Err(error) => {
            tracing::warn!(%error, "cannot read the persistent variable {name:?}");
            None
        }
    }
}

/// Everything a template of the run can read, borrowed from the interpreter for one render.
pub struct Scope<'a> {
    pub builtins: &'a Variables,
    pub loops: &'a [LoopFrame],
    pub loop_counts: &'a [u64],
    pub errors: &'a [ActionError],
    /// `{var.…}`, as read before the render.
    pub persistent: Option<&'a Persistent>,
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
            return self.persistent?.lookup(rest).map(Cow::Borrowed);
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
        let text = "{var.count} {var.motd} {var.global.count} {var.server.count} {var.user.5.points} {var.channel.8.topic} {var.none}";
        let template = Template::new(text);
        let names: Vec<&str> = template.names().collect();
        let persistent = Persistent::read(&store, 7, &names).await;
        let empty = Variables::new();
        let locals = Locals::default();
        let scope = Scope {
            builtins: &empty,
            loops: &[],
            loop_counts: &[],
            errors: &[],
            persistent: Some(&persistent),
            locals: &locals,
            request: RequestVariables::new(None, &NO_FIELDS, &NO_FIELDS),
            caller: &empty,
        };
        assert_eq!(render(&scope, text), "3 hello global 3 10 t {var.none}");
    }

    /// The snapshot holds what was asked for, as it was when read: a name it was not asked for
    /// stays as written, a later write is not seen, and names outside `var.` are not read.
    #[tokio::test]
    async fn a_snapshot_holds_only_what_was_read_when_it_was_read() {
        let store = Store::temporary().unwrap();
        for (name, value) in [("a", "1"), ("b", "2"), ("motd", "hi")] {
            store
                .set_variable(&VariableScope::Global, name, value)
                .await
                .unwrap();
        }
        let names = ["var.a", "motd", "var.user.someone.a", "var.channel.8"];
        let persistent = Persistent::read(&store, 7, &names).await;
        assert_eq!(persistent.values.len(), 3, "{persistent:?}");
        store
            .set_variable(&VariableScope::Global, "a", "changed")
            .await
            .unwrap();
        let empty = Variables::new();
        let locals = Locals::default();
        let scope = Scope {
            builtins: &empty,
            loops: &[],
            loop_counts: &[],
            errors: &[],
            persistent: Some(&persistent),
            locals: &locals,
            request: RequestVariables::new(None, &NO_FIELDS, &NO_FIELDS),
            caller: &empty,
        };
        assert_eq!(
            render(
                &scope,
                "{var.a} {var.b} {var.user.someone.a} {var.channel.8}"
            ),
            "1 {var.b} {var.user.someone.a} {var.channel.8}"
        );
    }
}
