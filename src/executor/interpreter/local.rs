//! The actions the interpreter carries out itself, without asking Discord to write: persistent
//! variables (set, get, delete), `math` and `http_request`; every other action goes to
//! [`crate::executor::actions`] under the [`ACTION_TIMEOUT`].

use std::time::Duration;

use serde_json::{json, Map, Value};

use super::budget::ACTION_TIMEOUT;
use super::failure::{action_error, invalid};
use super::state::Interpreter;
use crate::discord::Holder;
use crate::engine::VariableScope;
use crate::events::{Action, ActionKind, HttpBodySpec, VariableScopeSpec};
use crate::executor::actions::{self, ActionContext, Performed};
use crate::executor::http_request::{self, Destination, HttpBody, HttpCall};
use crate::executor::retry;
use crate::lang::duration::{format_duration, parse_duration};
use crate::lang::templates::Template;
use crate::run::ActionError;

impl Interpreter<'_> {
    /// [`perform`](Self::perform), noting that this execution has acted.
    pub(super) async fn perform_once(&mut self, action: &Action) -> Result<Performed, ActionError> {
        let result = self.perform(action).await;
        self.acted = true;
        result
    }

    /// Carries out an action that is not flow.
    async fn perform(&self, action: &Action) -> Result<Performed, ActionError> {
        let dry_run = self.ctx.dry_run;
        match &action.kind {
            ActionKind::HttpRequest {
                method,
                url,
                headers,
                body,
                timeout,
            } => {
                let (body, timeout) = (body.as_ref(), timeout.as_ref());
                self.http_request(method, url, headers, body, timeout).await
            }
            ActionKind::SetVariable { scope, name, value } => {
                let scope = self.variable_scope(scope).await?;
                let value = self.render(value);
                if dry_run {
                    return Ok(performed(
                        format!("would set {name} ({scope}) to {value:?}"),
                        json!({ "value": value }),
                    ));
                }
                self.ctx
                    .store
                    .set_variable(&scope, name, &value)
                    .await
                    .map_err(|e| invalid(e.to_string()))?;
                Ok(performed(
                    format!("set {name} ({scope}) to {value:?}"),
                    json!({ "value": value }),
                ))
            }
            ActionKind::DeleteVariable { scope, name } => {
                let scope = self.variable_scope(scope).await?;
                if dry_run {
                    return Ok(performed(
                        format!("would delete {name} ({scope})"),
                        json!({ "deleted": "dry-run" }),
                    ));
                }
                let deleted = self
                    .ctx
                    .store
                    .delete_variable(&scope, name)
                    .await
                    .map_err(|e| invalid(e.to_string()))?;
                let summary = if deleted {
                    format!("deleted {name} ({scope})")
                } else {
                    format!("{name} ({scope}) was not set")
                };
                Ok(performed(summary, json!({ "deleted": deleted })))
            }
            ActionKind::GetVariable {
                scope,
                name,
                default,
                ..
            } => {
                let scope = self.variable_scope(scope).await?;
                let stored = self
                    .ctx
                    .store
                    .variable(&scope, name)
                    .await
                    .map_err(|e| invalid(e.to_string()))?;
                let (value, summary) = match stored {
                    Some(value) => {
                        let summary = format!("read {name} ({scope}): {value:?}");
                        (value, summary)
                    }
                    None => {
                        let value = default.as_ref().map(|d| self.render(d)).unwrap_or_default();
                        let summary = format!("{name} ({scope}) is not set; using {value:?}");
                        (value, summary)
                    }
                };
                Ok(performed(summary, json!({ "value": value })))
            }
            ActionKind::Math {
                expression,
                variable,
            } => {
                let rendered = self.render(expression);
                let value = crate::lang::math::evaluate(&rendered)
                    .map_err(|e| invalid(format!("math {rendered:?}: {e}")))?;
                Ok(performed(
                    format!("{variable} = {rendered} = {value}"),
                    json!({ "value": value.to_string() }),
                ))
            }
            kind => self.ask_actions(kind).await,
        }
    }

    /// `http_request`: renders the request, then calls out (or says what it would call).
    async fn http_request(
        &self,
        method: &Template,
        url: &Template,
        headers: &[(String, Template)],
        body: Option<&HttpBodySpec>,
        timeout: Option<&Template>,
    ) -> Result<Performed, ActionError> {
        let method =
            http_request::parse_method(&self.render(method)).map_err(|e| invalid(e.to_string()))?;
        let url = self.render(url);
        let timeout = match timeout {
            Some(t) => self.bounded_duration(t, "timeout", http_request::MAX_TIMEOUT)?,
            None => http_request::DEFAULT_TIMEOUT,
        };
        let headers = headers
            .iter()
            .map(|(name, value)| (name.clone(), self.render(value)))
            .collect();
        let body = body.map(|body| match body {
            HttpBodySpec::Json(document) => HttpBody::Json(self.render_json(document)),
            HttpBodySpec::Text(text) => HttpBody::Text(self.render(text)),
        });
        let shown = url_without_query(&url).to_owned();
        if self.ctx.dry_run {
            return Ok(performed(
                format!("would call {method} {shown}"),
                json!({"status": "dry-run", "ok": "dry-run", "body": "dry-run"}),
            ));
        }
        let call = HttpCall {
            method: method.clone(),
            url,
            headers,
            body,
            timeout,
        };
        let response = http_request::perform(http_request::shared_client(), call, self.ctx.http)
            .await
            .map_err(|e| ActionError {
                message: e.to_string(),
                code: "http_error".into(),
                discord_code: None,
                http_status: None,
                retry_after_ms: None,
            })?;
        let echoed = match self.ctx.http {
            Destination::Network => "",
            Destination::Echo(_) => " (answered by the sandbox's echo)",
        };
        let mut done = performed(
            format!("called {method} {shown}{echoed}: HTTP {}", response.status),
            response.to_output(),
        );
        if response.truncated {
            done.warnings.push(format!(
                "the response was over {} bytes; only the start was kept",
                http_request::MAX_RESPONSE_BYTES
            ));
        }
        Ok(done)
    }

    /// Every other action: [`actions::perform`] renders, validates and asks Discord, within
    /// [`ACTION_TIMEOUT`].
    async fn ask_actions(&self, kind: &ActionKind) -> Result<Performed, ActionError> {
        let context = ActionContext {
            discord: self.ctx.discord,
            guild: self.guild(),
            dry_run: self.ctx.dry_run,
            pacer: self.ctx.pacer,
            holder: (self.ctx.retry.is_some() && !self.ctx.dry_run)
                .then_some(Holder(self.run.id.0)),
            nonce: Some(retry::nonce(
                self.ctx.store.install_id(),
                self.run.id,
                self.steps.len(),
            )),
            repeat: self.resumed && !self.acted,
            interaction: self.run.interaction.clone(),
            replied: crate::run::has_replied(&self.steps),
            store: Some(self.ctx.store),
        };
        let scope = self.scope();
        let attempt =
            tokio::time::timeout(ACTION_TIMEOUT, actions::perform(&context, kind, &scope));
        match attempt.await {
            Ok(result) => result.map_err(action_error),
            Err(_) => Err(ActionError {
                message: format!(
                    "Discord did not answer within {} s",
                    ACTION_TIMEOUT.as_secs()
                ),
                code: "timeout".into(),
                discord_code: None,
                http_status: None,
                retry_after_ms: None,
            }),
        }
    }

    /// Renders every string inside a JSON document, leaf by leaf, so a value can never break
    /// the document's syntax.
    fn render_json(&self, document: &Value) -> Value {
        match document {
            Value::String(text) => Value::String(self.render(&Template::new(text.as_str()))),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.render_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.render_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Which variables a variable action means; a user or channel named by mention or name is
    /// resolved in the event's server.
    async fn variable_scope(&self, spec: &VariableScopeSpec) -> Result<VariableScope, ActionError> {
        let server = self.event.server;
        Ok(match spec {
            VariableScopeSpec::Global => VariableScope::Global,
            VariableScopeSpec::Server => VariableScope::Server(server),
            VariableScopeSpec::User { user } => {
                let user = self
                    .ctx
                    .discord
                    .resolve_user(self.guild(), &self.render(user))
                    .await
                    .map_err(action_error)?;
                VariableScope::User {
                    server,
                    user: user.get(),
                }
            }
            VariableScopeSpec::Channel { channel } => {
                let channel = self
                    .ctx
                    .discord
                    .resolve_channel(self.guild(), &self.render(channel))
                    .await
                    .map_err(action_error)?;
                VariableScope::Channel(channel.id.get())
            }
        })
    }

    /// A duration written as a template (`wait`, a loop's delay, an HTTP timeout), read and
    /// held to `max`.
    pub(super) fn bounded_duration(
        &self,
        template: &Template,
        what: &str,
        max: Duration,
    ) -> Result<Duration, ActionError> {
        let rendered = self.render(template);
        let duration =
            parse_duration(&rendered).map_err(|error| invalid(format!("{what}: {error}")))?;
        if duration > max {
            return Err(invalid(format!(
                "{what} of {} is over the limit of {}",
                format_duration(duration),
                format_duration(max)
            )));
        }
        Ok(duration)
    }
}

fn performed(summary: String, output: Value) -> Performed {
    Performed {
        summary,
        output: match output {
            Value::Object(map) => map,
            _ => Map::new(),
        },
        warnings: Vec::new(),
        channel: None,
    }
}

/// `https://host/path` without the query string, which may carry secrets, for logs.
fn url_without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_query_in_logs() {
        assert_eq!(
            url_without_query("https://x.test/a?token=secret#f"),
            "https://x.test/a"
        );
    }
}
