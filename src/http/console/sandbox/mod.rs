//! The sandbox as a small Discord (only with `--sandbox`): the stand-in's servers, channels and
//! members, a channel's messages as they arrive, and forms that act as a member — say something,
//! use a slash command, click a button, react, join, leave. Each act goes through the stand-in's
//! control API (the client `hookbot sandbox …` uses), so the stand-in's gateway delivers it to
//! hookbot exactly as Discord would, and the real trigger path runs.

pub mod render;

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use maud::Markup;
use serde::Deserialize;
use serde_json::Value;

use super::error::ConsoleError;
use super::layout::{page, Nav};
use super::session::Session;
use super::state::ConsoleState;
use crate::sandbox_control::{Act, ControlClient, ControlError};

use render::{Acting, SHOWN_MESSAGES};

const STYLESHEET: &str = include_str!("sandbox.css");
/// A notice carried back after an act (`?done=` / `?problem=`) is cut to this many characters.
const MAX_NOTICE_CHARS: usize = 300;

pub(super) fn routes() -> Router<ConsoleState> {
    Router::new()
        .route("/sandbox", get(world))
        .route("/sandbox/channels/{id}", get(channel))
        .route("/sandbox/channels/{id}/{act}", post(act_in_channel))
        .route("/sandbox/servers/{id}/{act}", post(act_in_server))
        .route(
            "/assets/sandbox.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "private, max-age=3600"),
                    ],
                    STYLESHEET,
                )
            }),
        )
}

fn client(state: &ConsoleState) -> Result<&ControlClient, ConsoleError> {
    state.sandbox.as_ref().ok_or_else(|| {
        ConsoleError::NotFound("the sandbox pages exist only in `hookbot run --sandbox`".to_owned())
    })
}

impl From<ControlError> for ConsoleError {
    fn from(error: ControlError) -> Self {
        match error {
            ControlError::Unreachable { .. } => ConsoleError::Unavailable(error.to_string()),
            ControlError::Refused(why) => ConsoleError::BadRequest(why),
        }
    }
}

fn sandbox_page(title: &str, body: Markup) -> Markup {
    page(
        title,
        Nav::Sandbox,
        maud::html! {
            link rel="stylesheet" href="/assets/sandbox.css";
            (body)
        },
    )
}

async fn world(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Query(query): Query<ChannelQuery>,
) -> Result<Markup, ConsoleError> {
    let world = client(&state)?.world().await?;
    Ok(sandbox_page(
        "Sandbox",
        render::world_page(&world, session.csrf_token(), notice_of(&query)),
    ))
}

#[derive(Debug, Default, Deserialize)]
struct ChannelQuery {
    /// The member the visitor acts as.
    #[serde(default, rename = "as")]
    acting_as: Option<String>,
    /// What the last act did, or why it was refused.
    done: Option<String>,
    problem: Option<String>,
}

fn channel_id(id: &str) -> Result<u64, ConsoleError> {
    id.parse()
        .map_err(|_| ConsoleError::NotFound(format!("no channel {id:?}")))
}

async fn channel(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    Query(query): Query<ChannelQuery>,
) -> Result<Markup, ConsoleError> {
    let client = client(&state)?;
    let channel_id = channel_id(&id)?;
    let world = client.world().await?;
    let (server, channel) = render::find_channel(&world, &id)
        .ok_or_else(|| ConsoleError::NotFound(format!("no channel {id} in the sandbox")))?;
    let messages = client.messages(channel_id, SHOWN_MESSAGES).await?;
    let actors = render::actors(server);
    let user = query
        .acting_as
        .as_deref()
        .filter(|wanted| actors.contains(wanted))
        .or_else(|| actors.first().copied())
        .unwrap_or("");
    let acting = Acting {
        csrf: session.csrf_token(),
        user,
        channel_id: &id,
    };
    let notice = notice_of(&query);
    let title = format!("#{}", channel["name"].as_str().unwrap_or(""));
    Ok(sandbox_page(
        &title,
        render::channel_page(server, channel, &messages, &acting, notice),
    ))
}

/// What a channel page's forms send; each act reads the fields it needs.
#[derive(Debug, Default, Deserialize)]
struct ActForm {
    user: String,
    content: Option<String>,
    message: Option<String>,
    button: Option<String>,
    emoji: Option<String>,
    name: Option<String>,
}

fn required(value: Option<String>, what: &str) -> Result<String, ConsoleError> {
    value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ConsoleError::BadRequest(format!("the form has no {what}")))
}

/// The act a channel form asks for; `fields` are every field sent (a command's options are
/// `option.NAME`, an empty one left out).
fn channel_act(
    act: &str,
    channel: String,
    form: ActForm,
    fields: &[(String, String)],
) -> Result<Act, ConsoleError> {
    Ok(match act {
        "say" => Act::Say {
            channel,
            text: required(form.content, "message")?,
        },
        "click" => Act::Click {
            button: required(form.button, "button")?,
            channel: Some(channel),
            message: form.message,
        },
        "react" => Act::React {
            emoji: required(form.emoji, "emoji")?,
            channel: Some(channel),
            message: form.message,
            remove: false,
        },
        "command" => Act::Command {
            name: required(form.name, "command")?,
            options: fields
                .iter()
                .filter_map(|(name, value)| {
                    let option = name.strip_prefix("option.")?;
                    let value = value.trim();
                    (!value.is_empty()).then(|| (option.to_owned(), value.to_owned()))
                })
                .collect(),
            channel: Some(channel),
        },
        other => return Err(ConsoleError::NotFound(format!("no sandbox act {other:?}"))),
    })
}

fn notice(words: &str) -> String {
    let cut: String = words.chars().take(MAX_NOTICE_CHARS).collect();
    form_urlencoded::byte_serialize(cut.as_bytes()).collect()
}

/// Back to the page, saying what happened (a refusal is the visitor's to fix, so it is shown
/// on the page rather than as an error page).
fn back(page: &str, user: &str, outcome: Result<Value, ConsoleError>) -> Response {
    let acting_as = notice(user);
    match outcome {
        Ok(done) => {
            let words = format!("@{user} {}", done["done"].as_str().unwrap_or("did it"));
            Redirect::to(&format!("{page}?as={acting_as}&done={}", notice(&words))).into_response()
        }
        Err(ConsoleError::BadRequest(why)) => {
            Redirect::to(&format!("{page}?as={acting_as}&problem={}", notice(&why))).into_response()
        }
        Err(error) => error.into_response(),
    }
}

fn notice_of(query: &ChannelQuery) -> Option<(&str, bool)> {
    match (&query.problem, &query.done) {
        (Some(problem), _) => Some((problem.as_str(), true)),
        (None, Some(done)) => Some((done.as_str(), false)),
        (None, None) => None,
    }
}

async fn act_in_channel(
    State(state): State<ConsoleState>,
    Path((id, act)): Path<(String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, ConsoleError> {
    let client = client(&state)?;
    channel_id(&id)?;
    let form: ActForm = serde_json::from_value(Value::Object(
        fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    ))
    .map_err(|e| ConsoleError::BadRequest(format!("the form is incomplete: {e}")))?;
    let user = form.user.clone();
    let outcome = match channel_act(&act, id.clone(), form, &fields) {
        Ok(act) => client
            .act(&act, &user, None)
            .await
            .map_err(ConsoleError::from),
        Err(error) => Err(error),
    };
    Ok(back(&format!("/sandbox/channels/{id}"), &user, outcome))
}

#[derive(Debug, Deserialize)]
struct MemberForm {
    user: String,
}

async fn act_in_server(
    State(state): State<ConsoleState>,
    Path((server, act)): Path<(String, String)>,
    Form(form): Form<MemberForm>,
) -> Result<Response, ConsoleError> {
    let client = client(&state)?;
    let act = match act.as_str() {
        "join" => Act::Join,
        "leave" => Act::Leave,
        other => return Err(ConsoleError::NotFound(format!("no sandbox act {other:?}"))),
    };
    let user = form.user.trim().trim_start_matches('@').to_owned();
    let outcome = client
        .act(&act, &user, Some(&server))
        .await
        .map_err(ConsoleError::from);
    Ok(back("/sandbox", &user, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(user: &str) -> ActForm {
        ActForm {
            user: user.to_owned(),
            ..ActForm::default()
        }
    }

    #[test]
    fn each_form_is_the_act_the_cli_would_send() {
        let say = channel_act(
            "say",
            "7".into(),
            ActForm {
                content: Some(" ship it ".into()),
                ..form("alice")
            },
            &[],
        )
        .unwrap();
        assert_eq!(
            say,
            Act::Say {
                channel: "7".into(),
                text: "ship it".into()
            }
        );
        let fields = vec![
            ("option.service".to_owned(), "billing".to_owned()),
            ("option.note".to_owned(), "  ".to_owned()),
            ("csrf".to_owned(), "x".to_owned()),
        ];
        let command = channel_act(
            "command",
            "7".into(),
            ActForm {
                name: Some("deploy".into()),
                ..form("alice")
            },
            &fields,
        )
        .unwrap();
        assert_eq!(
            command,
            Act::Command {
                name: "deploy".into(),
                options: vec![("service".into(), "billing".into())],
                channel: Some("7".into()),
            }
        );
        let click = channel_act(
            "click",
            "7".into(),
            ActForm {
                button: Some("approve".into()),
                message: Some("99".into()),
                ..form("bob")
            },
            &[],
        )
        .unwrap();
        assert!(matches!(click, Act::Click { message: Some(m), .. } if m == "99"));
        assert!(matches!(
            channel_act("say", "7".into(), form("alice"), &[]),
            Err(ConsoleError::BadRequest(_))
        ));
        assert!(matches!(
            channel_act("dance", "7".into(), form("alice"), &[]),
            Err(ConsoleError::NotFound(_))
        ));
    }

    #[test]
    fn the_way_back_says_what_happened_or_what_to_fix() {
        let done = back(
            "/sandbox/channels/7",
            "alice",
            Ok(serde_json::json!({ "done": "said \"hi\" in #general" })),
        );
        assert_eq!(done.status(), 303);
        let to = done.headers()["location"].to_str().unwrap().to_owned();
        assert!(
            to.starts_with("/sandbox/channels/7?as=alice&done=%40alice+said"),
            "{to}"
        );
        let refused = back(
            "/sandbox",
            "zoe",
            Err(ConsoleError::BadRequest("\"zoe\" is not a member".into())),
        );
        let to = refused.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.contains("problem=%22zoe%22+is+not+a+member"), "{to}");
        let down = back(
            "/sandbox",
            "zoe",
            Err(ConsoleError::Unavailable("gone".into())),
        );
        assert_eq!(down.status(), 503);
    }
}
