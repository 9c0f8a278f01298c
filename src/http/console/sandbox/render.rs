//! The sandbox pages' HTML, built from what the stand-in's control API answers (its world and a
//! channel's Discord message objects): the servers with channels and members, a channel's
//! messages with their embeds, buttons and reactions, and the forms that act as a member. Every
//! button on a message is a real form; every field has a label.

use maud::{html, Markup};
use serde_json::Value;

/// How many of a channel's newest messages a page shows.
pub const SHOWN_MESSAGES: usize = 50;

/// Message flags (Discord's bits) the view marks.
const EPHEMERAL: u64 = 1 << 6;
const LOADING: u64 = 1 << 7;

/// The hidden fields every form of the channel page carries: the CSRF token and who acts.
#[derive(Debug, Clone)]
pub struct Acting<'a> {
    pub csrf: &'a str,
    /// The member's username.
    pub user: &'a str,
    pub channel_id: &'a str,
}

impl Acting<'_> {
    fn hidden(&self) -> Markup {
        html! {
            input type="hidden" name="csrf" value=(self.csrf);
            input type="hidden" name="user" value=(self.user);
        }
    }

    fn action(&self, act: &str) -> String {
        format!("/sandbox/channels/{}/{act}", self.channel_id)
    }
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().unwrap_or("")
}

fn array<'a>(value: &'a Value, key: &str) -> &'a [Value] {
    value[key].as_array().map_or(&[], Vec::as_slice)
}

/// The members a visitor can act as: everyone but bots, the server's owner last.
pub fn actors(server: &Value) -> Vec<&str> {
    let mut members: Vec<&Value> = array(server, "members")
        .iter()
        .filter(|m| m["bot"] != Value::Bool(true))
        .collect();
    members.sort_by_key(|m| m["owner"] == Value::Bool(true));
    members.iter().map(|m| text(m, "username")).collect()
}

/// The server a channel belongs to, and the channel.
pub fn find_channel<'a>(world: &'a Value, channel_id: &str) -> Option<(&'a Value, &'a Value)> {
    array(world, "servers").iter().find_map(|server| {
        array(server, "channels")
            .iter()
            .find(|c| text(c, "id") == channel_id)
            .map(|channel| (server, channel))
    })
}

fn channel_link(channel: &Value, current: Option<&str>) -> Markup {
    let id = text(channel, "id");
    html! {
        @if Some(id) == current {
            a href={ "/sandbox/channels/" (id) } aria-current="page" { "#" (text(channel, "name")) }
        } @else {
            a href={ "/sandbox/channels/" (id) } { "#" (text(channel, "name")) }
        }
    }
}

fn message_channels(server: &Value) -> impl Iterator<Item = &Value> {
    array(server, "channels")
        .iter()
        .filter(|c| c["holds_messages"] == Value::Bool(true))
}

/// `/sandbox`: every server with its channels, members (each can leave) and a join form.
pub fn world_page(world: &Value, csrf: &str, notice: Option<(&str, bool)>) -> Markup {
    html! {
        h1 { "Sandbox" }
        (notice_line(notice))
        p.hint {
            "A local Discord: the servers below exist only in this "
            code { "hookbot run --sandbox" }
            ". Open a channel to see what hookbot sends there and to act as a member."
        }
        @for server in array(world, "servers") {
            section.sandbox-server aria-labelledby={ "server-" (text(server, "id")) } {
                h2 id={ "server-" (text(server, "id")) } { (text(server, "name")) " " code { (text(server, "id")) } }
                h3 { "Channels" }
                ul.sandbox-channels {
                    @for channel in message_channels(server) {
                        li { (channel_link(channel, None)) }
                    }
                }
                h3 { "Members" }
                ul.sandbox-members {
                    @for member in array(server, "members") {
                        li {
                            span.member { "@" (text(member, "username")) }
                            @if member["bot"] == Value::Bool(true) { " " span.badge { "BOT" } }
                            @if member["owner"] == Value::Bool(true) { " " span.hint { "(owner)" } }
                            @if member["bot"] != Value::Bool(true) {
                                form.inline method="post" action={ "/sandbox/servers/" (text(server, "id")) "/leave" } {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="user" value=(text(member, "username"));
                                    button.secondary type="submit" { "Leave as @" (text(member, "username")) }
                                }
                            }
                        }
                    }
                }
                form.inline method="post" action={ "/sandbox/servers/" (text(server, "id")) "/join" } {
                    input type="hidden" name="csrf" value=(csrf);
                    div {
                        label for={ "join-" (text(server, "id")) } { "Username" }
                        br;
                        input id={ "join-" (text(server, "id")) } name="user" required placeholder="zoe" autocomplete="off";
                    }
                    button type="submit" { "Join the server" }
                }
                @let commands = array(server, "commands");
                @if !commands.is_empty() {
                    h3 { "Slash commands hookbot registered" }
                    ul {
                        @for command in commands {
                            li { code { "/" (text(command, "name")) } " — " (text(command, "description")) }
                        }
                    }
                }
            }
        }
    }
}

/// `/sandbox/channels/{id}`: the channel list, the messages (live) and the member's forms.
pub fn channel_page(
    server: &Value,
    channel: &Value,
    messages: &Value,
    acting: &Acting<'_>,
    notice: Option<(&str, bool)>,
) -> Markup {
    let actors = actors(server);
    html! {
        h1 { "#" (text(channel, "name")) " " span.hint { "in " (text(server, "name")) } }
        nav.sandbox-channels aria-label="Channels" {
            ul {
                @for other in message_channels(server) {
                    li { (channel_link(other, Some(acting.channel_id))) }
                }
            }
        }
        (notice_line(notice))
        form.inline.acting method="get" action={ "/sandbox/channels/" (acting.channel_id) } {
            div {
                label for="as" { "Acting as" }
                br;
                select #as name="as" {
                    @for name in &actors {
                        option value=(name) selected[*name == acting.user] { "@" (name) }
                    }
                }
            }
            button.secondary type="submit" { "Switch member" }
        }
        section aria-labelledby="messages-heading" {
            h2 #messages-heading { "Messages" }
            (messages_list(messages, acting))
        }
        section aria-labelledby="say-heading" {
            h2 #say-heading { "Say something as @" (acting.user) }
            form.say method="post" action=(acting.action("say")) {
                (acting.hidden())
                label for="say-content" { "Message" }
                textarea #say-content name="content" rows="2" required maxlength="2000" {}
                button type="submit" { "Send" }
            }
        }
        (command_forms(server, acting))
    }
}

/// What the last act did (a status) or why it was refused (an alert).
fn notice_line(notice: Option<(&str, bool)>) -> Markup {
    html! {
        @if let Some((words, failed)) = notice {
            @if failed {
                p.error role="alert" { (words) }
            } @else {
                p.notice role="status" { (words) }
            }
        }
    }
}

/// The live list: refreshed in place by the console's script (`data-live`), a plain page
/// without it.
pub fn messages_list(messages: &Value, acting: &Acting<'_>) -> Markup {
    let shown = array(messages, "messages");
    let total = messages["total"].as_u64().unwrap_or(shown.len() as u64);
    html! {
        div #messages data-live="1" aria-live="polite" {
            @if (shown.len() as u64) < total {
                p.hint { "The newest " (shown.len()) " of " (total) " messages." }
            }
            @if shown.is_empty() {
                p.hint { "No messages yet. Say something below, or fire a test from an event's page." }
            }
            ol.sandbox-messages {
                @for message in shown {
                    (message_item(message, acting))
                }
            }
        }
    }
}

fn message_item(message: &Value, acting: &Acting<'_>) -> Markup {
    let id = text(message, "id");
    let flags = message["flags"].as_u64().unwrap_or(0);
    let author = &message["author"];
    html! {
        li.message id={ "message-" (id) } data-message=(id) {
            div.meta {
                strong { (text(author, "username")) }
                @if author["bot"] == Value::Bool(true) { " " span.badge { "BOT" } }
                " " time datetime=(text(message, "timestamp")) { (clock(text(message, "timestamp"))) }
                @if !message["edited_timestamp"].is_null() { " " span.hint { "(edited)" } }
                @if flags & EPHEMERAL != 0 { " " span.hint { "only the member who acted sees this" } }
            }
            @if flags & LOADING != 0 {
                p.hint { "hookbot is thinking…" }
            }
            @let content = text(message, "content");
            @if !content.is_empty() {
                p.content { (content) }
            }
            @for embed in array(message, "embeds") {
                (embed_box(embed))
            }
            (buttons(message, acting))
            (reactions(message, acting))
        }
    }
}

/// `12:03:04` of Discord's RFC 3339 timestamp.
fn clock(timestamp: &str) -> &str {
    timestamp.get(11..19).unwrap_or(timestamp)
}

fn embed_box(embed: &Value) -> Markup {
    let color = embed["color"]
        .as_u64()
        .map(|c| format!("border-left-color: #{c:06x}"));
    html! {
        div.embed style=[color] {
            @if !text(embed, "title").is_empty() {
                @if text(embed, "url").starts_with("http") {
                    p.embed-title { a href=(text(embed, "url")) rel="noreferrer" { (text(embed, "title")) } }
                } @else {
                    p.embed-title { (text(embed, "title")) }
                }
            }
            @if !text(embed, "description").is_empty() {
                p.content { (text(embed, "description")) }
            }
            @let fields = array(embed, "fields");
            @if !fields.is_empty() {
                dl.embed-fields {
                    @for field in fields {
                        div {
                            dt { (text(field, "name")) }
                            dd.content { (text(field, "value")) }
                        }
                    }
                }
            }
            @if !text(&embed["footer"], "text").is_empty() {
                p.hint { (text(&embed["footer"], "text")) }
            }
        }
    }
}

fn button_class(style: u64) -> &'static str {
    match style {
        1 => "discord primary",
        3 => "discord success",
        4 => "discord danger",
        _ => "discord secondary",
    }
}

/// Each row of buttons; a clickable one is a form that clicks it as the member, a link one a
/// link, a disabled one a disabled button.
fn buttons(message: &Value, acting: &Acting<'_>) -> Markup {
    let id = text(message, "id");
    html! {
        @for row in array(message, "components") {
            div.button-row {
                @for button in array(row, "components").iter().filter(|c| c["type"] == 2) {
                    @let label = text(button, "label");
                    @let shown = if label.is_empty() { text(&button["emoji"], "name") } else { label };
                    @if button["style"] == 5 {
                        a.discord.link href=(text(button, "url")) rel="noreferrer" { (shown) " ↗" }
                    } @else if button["disabled"] == Value::Bool(true) {
                        button class=(button_class(button["style"].as_u64().unwrap_or(2))) type="button" disabled { (shown) }
                    } @else {
                        form.click method="post" action=(acting.action("click")) {
                            (acting.hidden())
                            input type="hidden" name="message" value=(id);
                            input type="hidden" name="button" value=(text(button, "custom_id"));
                            button class=(button_class(button["style"].as_u64().unwrap_or(2))) type="submit"
                                data-custom-id=(text(button, "custom_id")) { (shown) }
                        }
                    }
                }
            }
        }
    }
}

fn emoji_name(emoji: &Value) -> String {
    match (emoji["id"].as_str(), text(emoji, "name")) {
        (Some(id), name) => format!("{name}:{id}"),
        (None, name) => name.to_owned(),
    }
}

/// The reactions so far (each a form adding the same one) and a form for another.
fn reactions(message: &Value, acting: &Acting<'_>) -> Markup {
    let id = text(message, "id");
    html! {
        div.reactions {
            @for reaction in array(message, "reactions") {
                form.react method="post" action=(acting.action("react")) {
                    (acting.hidden())
                    input type="hidden" name="message" value=(id);
                    input type="hidden" name="emoji" value=(emoji_name(&reaction["emoji"]));
                    button.chip type="submit" aria-label={ "React " (text(&reaction["emoji"], "name")) " as @" (acting.user) } {
                        (text(&reaction["emoji"], "name")) " " (reaction["count"].as_u64().unwrap_or(0))
                    }
                }
            }
            form.react method="post" action=(acting.action("react")) {
                (acting.hidden())
                input type="hidden" name="message" value=(id);
                label.visually-hidden for={ "emoji-" (id) } { "Emoji to react with" }
                input.emoji id={ "emoji-" (id) } name="emoji" value="👍" size="4" required;
                button.secondary type="submit" { "React" }
            }
        }
    }
}

/// Discord's option types, as a person types them.
fn option_hint(kind: u64) -> (&'static str, &'static str) {
    match kind {
        4 => ("number", "a whole number"),
        10 => ("number", "a number"),
        6 => ("text", "a member, e.g. alice"),
        7 => ("text", "a channel, e.g. #general"),
        8 => ("text", "a role's name"),
        9 => ("text", "a member or a role"),
        _ => ("text", ""),
    }
}

/// One form per slash command the bot registered in the server, a field per option.
fn command_forms(server: &Value, acting: &Acting<'_>) -> Markup {
    let commands = array(server, "commands");
    html! {
        @if !commands.is_empty() {
            section aria-labelledby="commands-heading" {
                h2 #commands-heading { "Use a slash command as @" (acting.user) }
                @for command in commands {
                    @let name = text(command, "name");
                    form.command.stack method="post" action=(acting.action("command")) {
                        (acting.hidden())
                        input type="hidden" name="name" value=(name);
                        p { code { "/" (name) } " " span.hint { (text(command, "description")) } }
                        @for option in array(command, "options") {
                            @let field = format!("command-{name}-{}", text(option, "name"));
                            @let required = option["required"] == Value::Bool(true);
                            label for=(field) {
                                (text(option, "name"))
                                @if !required { " " span.hint { "(optional)" } }
                            }
                            @let choices = array(option, "choices");
                            @if option["type"] == 5 {
                                select id=(field) name={ "option." (text(option, "name")) } required[required] {
                                    @if !required { option value="" { "—" } }
                                    option value="true" { "true" }
                                    option value="false" { "false" }
                                }
                            } @else if !choices.is_empty() {
                                select id=(field) name={ "option." (text(option, "name")) } required[required] {
                                    @if !required { option value="" { "—" } }
                                    @for choice in choices {
                                        option value=(choice["value"].as_str().map_or_else(|| choice["value"].to_string(), str::to_owned)) { (text(choice, "name")) }
                                    }
                                }
                            } @else {
                                @let (kind, hint) = option_hint(option["type"].as_u64().unwrap_or(3));
                                input id=(field) type=(kind) step=[(kind == "number").then_some("any")]
                                    name={ "option." (text(option, "name")) } required[required]
                                    placeholder=(if hint.is_empty() { text(option, "description") } else { hint });
                            }
                        }
                        button type="submit" { "Use /" (name) }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server() -> Value {
        json!({
            "id": "111", "name": "hookbot sandbox",
            "channels": [
                { "id": "7", "name": "general", "type": 0, "holds_messages": true },
                { "id": "8", "name": "Ops", "type": 4, "holds_messages": false },
            ],
            "members": [
                { "id": "1", "username": "owner", "bot": false, "owner": true },
                { "id": "2", "username": "hookbot", "bot": true, "owner": false },
                { "id": "3", "username": "alice", "bot": false, "owner": false },
            ],
            "commands": [{ "name": "deploy", "description": "Deploy a service", "options": [
                { "type": 3, "name": "service", "description": "Which", "required": true },
                { "type": 5, "name": "force", "description": "Even if red" },
            ]}],
        })
    }

    fn acting() -> Acting<'static> {
        Acting {
            csrf: "tok",
            user: "alice",
            channel_id: "7",
        }
    }

    #[test]
    fn members_act_the_owner_last_and_never_a_bot() {
        assert_eq!(actors(&server()), vec!["alice", "owner"]);
        let world = json!({ "servers": [server()] });
        let (found, channel) = find_channel(&world, "7").unwrap();
        assert_eq!(found["id"], "111");
        assert_eq!(channel["name"], "general");
        assert!(find_channel(&world, "9").is_none());
    }

    #[test]
    fn a_message_shows_its_embeds_buttons_and_reactions_as_forms() {
        let messages = json!({ "total": 60, "messages": [{
            "id": "99", "content": "<b>Ship</b> billing?", "timestamp": "2026-12-06T11:02:03.000000+00:00",
            "author": { "username": "hookbot", "bot": true }, "flags": 64,
            "embeds": [{ "title": "billing", "description": "v2", "color": 0x00ff00,
                         "fields": [{ "name": "by", "value": "alice" }] }],
            "components": [{ "type": 1, "components": [
                { "type": 2, "style": 3, "label": "Approve", "custom_id": "approve" },
                { "type": 2, "style": 5, "label": "Docs", "url": "https://example.com/docs" },
                { "type": 2, "style": 4, "label": "Gone", "custom_id": "gone", "disabled": true },
            ]}],
            "reactions": [{ "emoji": { "id": null, "name": "👍" }, "count": 2 }],
        }]});
        let html = messages_list(&messages, &acting()).into_string();
        assert!(
            html.contains("&lt;b&gt;Ship&lt;/b&gt; billing?"),
            "escaped: {html}"
        );
        assert!(html.contains("The newest 1 of 60 messages."));
        assert!(html.contains(r#"data-live="1""#));
        assert!(html.contains("only the member who acted sees this"));
        assert!(html.contains("11:02:03"));
        assert!(html.contains("border-left-color: #00ff00"));
        assert!(html.contains("<dt>by</dt>"));
        // The clickable button is a form that clicks it as alice, with the page's CSRF token.
        let form_at = html.find(r#"action="/sandbox/channels/7/click""#).unwrap();
        let form = &html[form_at..html[form_at..].find("</form>").unwrap() + form_at];
        for field in [
            r#"name="csrf" value="tok""#,
            r#"name="user" value="alice""#,
            r#"name="message" value="99""#,
            r#"name="button" value="approve""#,
            r#"type="submit""#,
            "Approve",
        ] {
            assert!(form.contains(field), "{field} in {form}");
        }
        assert!(html.contains(r#"href="https://example.com/docs""#));
        assert!(html.contains("disabled"));
        assert_eq!(html.matches("/click").count(), 1, "only one clickable");
        assert!(html.contains(r#"name="emoji" value="👍""#));
        assert!(html.contains("👍 2"));
    }

    #[test]
    fn the_channel_page_has_a_labelled_form_for_every_act() {
        let messages = json!({ "total": 0, "messages": [] });
        let html = channel_page(
            &server(),
            &server()["channels"][0],
            &messages,
            &acting(),
            Some(("\"zoe\" is not a member", true)),
        )
        .into_string();
        assert!(html.contains("No messages yet."));
        assert!(html.contains(r#"role="alert""#));
        assert!(html.contains(r#"action="/sandbox/channels/7/say""#));
        assert!(html.contains(r#"<label for="say-content">"#));
        assert!(html.contains(r#"action="/sandbox/channels/7/command""#));
        assert!(html.contains(r#"<label for="command-deploy-service">"#));
        assert!(html.contains(r#"name="option.service" required"#));
        assert!(
            html.contains(r#"<option value="true">"#),
            "a boolean is a choice"
        );
        assert!(html.contains(r#"<option value="alice" selected>"#));
        assert!(
            !html.contains(r#"value="hookbot""#),
            "nobody acts as the bot"
        );
        assert!(
            !html.contains("/sandbox/channels/8"),
            "a category holds no messages"
        );
    }

    #[test]
    fn the_world_page_lets_members_join_and_leave() {
        let world = json!({ "servers": [server()] });
        let html = world_page(&world, "tok", Some(("@zoe joined", false))).into_string();
        assert!(html.contains(r#"role="status""#));
        assert!(html.contains(r#"href="/sandbox/channels/7""#));
        assert!(html.contains(r#"action="/sandbox/servers/111/join""#));
        assert!(html.contains("Leave as @alice"));
        assert!(!html.contains("Leave as @hookbot"));
        assert!(html.contains("/deploy"));
    }
}
