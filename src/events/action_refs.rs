//! What an action refers to: the Discord things it names and every template it holds, for the
//! checks at load time and the names the executor resolves.

use super::action::{ActionKind, HttpBodySpec, VariableScopeSpec};
use super::caller_names::collect_strings;
use super::message::{ButtonSpec, ColorSpec};
use crate::lang::templates::Template;

impl ActionKind {
    /// The references to Discord things an action names directly, by kind: `("channel", …)`,
    /// `("user", …)`, `("role", …)`. Nested actions are not included.
    pub fn references(&self) -> Vec<(&'static str, &Template)> {
        use ActionKind as K;
        let mut refs: Vec<(&'static str, &Template)> = Vec::new();
        match self {
            K::SendMessage { channel, .. }
            | K::EditMessage { channel, .. }
            | K::DeleteMessage { channel, .. }
            | K::React { channel, .. }
            | K::PinMessage { channel, .. }
            | K::UnpinMessage { channel, .. }
            | K::PublishMessage { channel, .. }
            | K::EditChannel { channel, .. }
            | K::DeleteChannel { channel, .. }
            | K::CreateThread { channel, .. }
            | K::CreateInvite { channel, .. } => refs.push(("channel", channel)),
            K::EditThread { thread, .. } => refs.push(("channel", thread)),
            K::SendDm { user, .. }
            | K::SetNickname { user, .. }
            | K::TimeoutMember { user, .. }
            | K::RemoveTimeout { user, .. }
            | K::KickMember { user, .. }
            | K::BanMember { user, .. }
            | K::UnbanMember { user, .. } => refs.push(("user", user)),
            K::AddRole { user, role, .. } | K::RemoveRole { user, role, .. } => {
                refs.push(("user", user));
                refs.push(("role", role));
            }
            K::EditRole { role, .. } | K::DeleteRole { role, .. } => refs.push(("role", role)),
            K::SetVariable { scope, .. }
            | K::DeleteVariable { scope, .. }
            | K::GetVariable { scope, .. } => match scope {
                VariableScopeSpec::User { user } => refs.push(("user", user)),
                VariableScopeSpec::Channel { channel } => refs.push(("channel", channel)),
                _ => {}
            },
            K::If { condition, .. } => condition.references(&mut refs),
            _ => {}
        }
        if let K::CreateChannel {
            parent: Some(parent),
            ..
        }
        | K::EditChannel {
            parent: Some(parent),
            ..
        } = self
        {
            refs.push(("channel", parent));
        }
        refs
    }

    /// Every text the action itself renders (not those of nested actions): its
    /// [`templates`](Self::templates), and the strings of a JSON body, which render leaf by leaf.
    pub fn texts(&self) -> Vec<&str> {
        let mut texts: Vec<&str> = self.templates().into_iter().map(Template::as_str).collect();
        if let ActionKind::HttpRequest {
            body: Some(HttpBodySpec::Json(document)),
            ..
        } = self
        {
            collect_strings(document, &mut texts);
        }
        texts
    }

    /// Every template the action itself holds (not those of nested actions).
    pub fn templates(&self) -> Vec<&Template> {
        use ActionKind as K;
        let mut all: Vec<&Template> = self.references().into_iter().map(|(_, t)| t).collect();
        match self {
            K::SendMessage {
                message,
                reply_to,
                buttons,
                ..
            } => {
                all.extend(reply_to.as_ref());
                all.extend(message.templates());
                all.extend(buttons.iter().flat_map(ButtonSpec::templates));
            }
            K::Reply {
                message, buttons, ..
            } => {
                all.extend(message.templates());
                all.extend(buttons.iter().flat_map(ButtonSpec::templates));
            }
            K::SendDm { message, .. } => all.extend(message.templates()),
            K::EditMessage {
                message_id,
                message,
                ..
            } => {
                all.push(message_id);
                all.extend(message.templates());
            }
            K::DeleteMessage {
                message_id, reason, ..
            }
            | K::PinMessage {
                message_id, reason, ..
            }
            | K::UnpinMessage {
                message_id, reason, ..
            } => {
                all.extend(reason.as_ref());
                all.push(message_id);
            }
            K::React {
                message_id, emoji, ..
            } => {
                all.push(message_id);
                all.push(emoji);
            }
            K::PublishMessage { message_id, .. } => all.push(message_id),
            K::AddRole { reason, .. }
            | K::RemoveRole { reason, .. }
            | K::DeleteRole { reason, .. }
            | K::RemoveTimeout { reason, .. }
            | K::KickMember { reason, .. }
            | K::UnbanMember { reason, .. }
            | K::DeleteChannel { reason, .. } => all.extend(reason.as_ref()),
            K::CreateRole { settings, reason }
            | K::EditRole {
                settings, reason, ..
            } => {
                all.extend(reason.as_ref());
                all.extend(settings.name.as_ref());
                if let Some(ColorSpec::Template(t)) = &settings.color {
                    all.push(t);
                }
            }
            K::SetNickname {
                nickname, reason, ..
            } => {
                all.extend(reason.as_ref());
                all.push(nickname);
            }
            K::TimeoutMember {
                duration, reason, ..
            } => {
                all.extend(reason.as_ref());
                all.push(duration);
            }
            K::BanMember {
                delete_messages,
                reason,
                ..
            } => {
                all.extend(reason.as_ref());
                all.extend(delete_messages.as_ref());
            }
            K::CreateChannel {
                name,
                topic,
                reason,
                ..
            } => {
                all.extend(topic.as_ref());
                all.extend(reason.as_ref());
                all.push(name);
            }
            K::EditChannel {
                name,
                topic,
                reason,
                ..
            } => {
                all.extend(name.as_ref());
                all.extend(topic.as_ref());
                all.extend(reason.as_ref());
            }
            K::CreateThread {
                name,
                message_id,
                auto_archive,
                reason,
                ..
            } => {
                all.extend(message_id.as_ref());
                all.extend(auto_archive.as_ref());
                all.extend(reason.as_ref());
                all.push(name);
            }
            K::EditThread { name, reason, .. } => {
                all.extend(name.as_ref());
                all.extend(reason.as_ref());
            }
            K::CreateInvite {
                max_age,
                max_uses,
                reason,
                ..
            } => {
                all.extend(max_age.as_ref());
                all.extend(max_uses.as_ref());
                all.extend(reason.as_ref());
            }
            K::HttpRequest {
                method,
                url,
                headers,
                body,
                timeout,
            } => {
                all.extend(timeout.as_ref());
                all.push(method);
                all.push(url);
                all.extend(headers.iter().map(|(_, value)| value));
                if let Some(HttpBodySpec::Text(text)) = body {
                    all.push(text);
                }
            }
            K::SetVariable { value, .. } => all.push(value),
            K::GetVariable { default, .. } => all.extend(default.as_ref()),
            K::Math { expression, .. } => all.push(expression),
            K::If { condition, .. } => condition.templates(&mut all),
            K::Loop { count, delay, .. } => {
                all.extend(delay.as_ref());
                all.push(count);
            }
            K::Wait { duration } => all.push(duration),
            K::DeleteVariable { .. } | K::Random { .. } | K::StopLoop | K::Stop => {}
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use crate::events::parse::parse_event;
    use std::path::Path;

    /// What the executor reads before an action renders: every template, a JSON body's strings
    /// and an `if`'s conditions, but not the actions nested inside.
    #[test]
    fn texts_cover_templates_json_bodies_and_conditions() {
        let event = parse_event(
            Path::new("texts.toml"),
            r##"
id = "texts"
server = "123456789012345678"

[[actions]]
type = "http_request"
method = "POST"
url = "https://x.test/{var.path}"
headers = { "x-n" = "{var.server.n}" }
json = { list = ["{var.global.a}", { deep = "{var.user.5.b}" }] }

[[actions]]
type = "if"
condition = { all = [{ left = "{var.channel.8.c}", op = "equals", right = "x" }, { left = "{d}", op = "is_empty" }] }

[[actions.then]]
type = "math"
expression = "{var.nested}"
variable = "n"
"##,
        )
        .unwrap();
        let http = event.actions[0].kind.texts();
        for text in [
            "https://x.test/{var.path}",
            "{var.server.n}",
            "{var.global.a}",
            "{var.user.5.b}",
        ] {
            assert!(http.contains(&text), "{text} not in {http:?}");
        }
        let condition = event.actions[1].kind.texts();
        assert!(condition.contains(&"{var.channel.8.c}"), "{condition:?}");
        assert!(condition.contains(&"{d}"), "{condition:?}");
        assert!(!condition.contains(&"{var.nested}"), "{condition:?}");
    }
}
