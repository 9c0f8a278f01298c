//! add_role, remove_role, create_role, edit_role, delete_role, set_nickname, timeout_member,
//! remove_timeout, kick_member, ban_member, unban_member.

use serde_json::{json, Map, Value};

use super::job::{Job, Performed, RoleRef};
use super::render::{cut, quote, render_color};
use super::values::{ban_delete_seconds, timeout_length, timeout_until};
use crate::discord::CallError;
use crate::events::{ActionKind, RoleSettings, MAX_NICKNAME_CHARS, MAX_ROLE_NAME_CHARS};
use crate::lang::duration::format_duration;
use crate::lang::templates::Lookup;

pub(super) async fn perform<L: Lookup>(mut job: Job<'_, L>) -> Result<Performed, CallError> {
    let guild = job.guild;
    let writer = job.writer;
    match job.kind {
        ActionKind::AddRole { user, role, reason }
        | ActionKind::RemoveRole { user, role, reason } => {
            let adding = matches!(job.kind, ActionKind::AddRole { .. });
            let reason = job.reason(reason);
            let user = job.user(user).await?;
            let role = job.role(role).await?;
            let (verb, past, preposition) = if adding {
                ("add", "added", "to")
            } else {
                ("remove", "removed", "from")
            };
            let why = Job::<L>::reason_words(&reason);
            let words = format!("role {role} {preposition} {user}{why}");
            if job.dry_run {
                return Ok(job.would(format!("would {verb} {words}"), None));
            }
            let reason = reason.as_deref();
            if adding {
                writer
                    .add_member_role(guild, user.id, role.id, reason)
                    .await?;
            } else {
                writer
                    .remove_member_role(guild, user.id, role.id, reason)
                    .await?;
            }
            let output = vec![
                ("user_id", user.id.to_string()),
                ("role_id", role.id.to_string()),
            ];
            Ok(job.done(format!("{past} {words}"), output, None))
        }
        ActionKind::CreateRole { settings, reason } => {
            let reason = job.reason(reason);
            let (body, words) = role_body(&mut job, settings)?;
            if !body.contains_key("name") {
                return Err(CallError::Invalid(
                    "create_role needs a name that is not empty after filling in the variables"
                        .to_owned(),
                ));
            }
            let why = Job::<L>::reason_words(&reason);
            if job.dry_run {
                let summary = format!("would create role {}{why}", words.join(", "));
                return Ok(job.would(summary, None));
            }
            let created = writer.create_role(guild, &body, reason.as_deref()).await?;
            let role = RoleRef {
                id: created.id,
                name: created.name.clone(),
            };
            let summary = format!("created role {role}{why}");
            Ok(job.done(summary, role_output(&role), None))
        }
        ActionKind::EditRole {
            role,
            settings,
            reason,
        } => {
            let reason = job.reason(reason);
            let (body, words) = role_body(&mut job, settings)?;
            if body.is_empty() {
                return Err(CallError::Invalid(
                    "edit_role has nothing to change (no name, color, hoist, mentionable or permissions)"
                        .to_owned(),
                ));
            }
            let role = job.role(role).await?;
            let why = Job::<L>::reason_words(&reason);
            if job.dry_run {
                let summary = format!("would edit role {role}: {}{why}", words.join(", "));
                return Ok(job.would(summary, None));
            }
            let edited = writer
                .edit_role(guild, role.id, &body, reason.as_deref())
                .await?;
            let edited = RoleRef {
                id: edited.id,
                name: edited.name.clone(),
            };
            let summary = format!("edited role {edited}: {}{why}", words.join(", "));
            Ok(job.done(summary, role_output(&edited), None))
        }
        ActionKind::DeleteRole { role, reason } => {
            let reason = job.reason(reason);
            let role = job.role(role).await?;
            if role.id.get() == guild.get() {
                return Err(CallError::Invalid(
                    "the @everyone role cannot be deleted".to_owned(),
                ));
            }
            let why = Job::<L>::reason_words(&reason);
            if job.dry_run {
                return Ok(job.would(format!("would delete role {role}{why}"), None));
            }
            let deleted = writer.delete_role(guild, role.id, reason.as_deref()).await;
            match deleted {
                // Gone already (this run deleted it before a crash or a retry): as asked.
                Err(CallError::Discord { code: 10011, .. }) if job.repeat => {}
                other => other?,
            }
            let output = vec![("id", role.id.to_string()), ("name", role.name.clone())];
            Ok(job.done(format!("deleted role {role}{why}"), output, None))
        }
        ActionKind::SetNickname {
            user,
            nickname,
            reason,
        } => {
            let reason = job.reason(reason);
            let nickname = job.render(nickname).trim().to_owned();
            let nickname = (!nickname.is_empty())
                .then(|| cut("nickname", nickname, MAX_NICKNAME_CHARS, &mut job.warnings));
            let user = job.user(user).await?;
            let why = Job::<L>::reason_words(&reason);
            let words = match &nickname {
                Some(nick) => format!("the nickname of {user} to {}{why}", quote(nick, 40)),
                None => format!("the nickname of {user}{why}"),
            };
            let (verb, past) = match nickname {
                Some(_) => ("set", "set"),
                None => ("remove", "removed"),
            };
            if job.dry_run {
                return Ok(job.would(format!("would {verb} {words}"), None));
            }
            writer
                .set_nickname(guild, user.id, nickname.as_deref(), reason.as_deref())
                .await?;
            let output = vec![("user_id", user.id.to_string())];
            Ok(job.done(format!("{past} {words}"), output, None))
        }
        ActionKind::TimeoutMember {
            user,
            duration,
            reason,
        } => {
            let reason = job.reason(reason);
            let length = timeout_length(&job.render(duration))?;
            let until = timeout_until(unix_now(), length)?;
            let user = job.user(user).await?;
            let why = Job::<L>::reason_words(&reason);
            let words = format!("{user} for {}, until {until}{why}", format_duration(length));
            if job.dry_run {
                return Ok(job.would(format!("would time out {words}"), None));
            }
            writer
                .set_timeout(guild, user.id, Some(&until), reason.as_deref())
                .await?;
            let output = vec![("user_id", user.id.to_string()), ("until", until.clone())];
            Ok(job.done(format!("timed out {words}"), output, None))
        }
        ActionKind::RemoveTimeout { user, reason }
        | ActionKind::KickMember { user, reason }
        | ActionKind::UnbanMember { user, reason } => {
            let reason = job.reason(reason);
            let user = job.user(user).await?;
            let why = Job::<L>::reason_words(&reason);
            let (would, did) = match job.kind {
                ActionKind::RemoveTimeout { .. } => (
                    format!("would end the timeout of {user}{why}"),
                    format!("ended the timeout of {user}{why}"),
                ),
                ActionKind::KickMember { .. } => (
                    format!("would kick {user}{why}"),
                    format!("kicked {user}{why}"),
                ),
                _ => (
                    format!("would unban {user}{why}"),
                    format!("unbanned {user}{why}"),
                ),
            };
            if job.dry_run {
                return Ok(job.would(would, None));
            }
            let reason = reason.as_deref();
            match job.kind {
                ActionKind::RemoveTimeout { .. } => {
                    writer.set_timeout(guild, user.id, None, reason).await?
                }
                ActionKind::KickMember { .. } => writer.kick_member(guild, user.id, reason).await?,
                _ => writer.unban_member(guild, user.id, reason).await?,
            }
            let output = vec![("user_id", user.id.to_string())];
            Ok(job.done(did, output, None))
        }
        ActionKind::BanMember {
            user,
            delete_messages,
            reason,
        } => {
            let reason = job.reason(reason);
            let delete_seconds = job
                .optional(delete_messages)
                .map(|text| ban_delete_seconds(&text))
                .transpose()?;
            let user = job.user(user).await?;
            let why = Job::<L>::reason_words(&reason);
            let deleting = match delete_seconds {
                Some(seconds) if seconds > 0 => format!(
                    ", deleting their messages of the last {}",
                    format_duration(std::time::Duration::from_secs(seconds))
                ),
                _ => String::new(),
            };
            if job.dry_run {
                return Ok(job.would(format!("would ban {user}{deleting}{why}"), None));
            }
            writer
                .ban_member(guild, user.id, delete_seconds, reason.as_deref())
                .await?;
            let output = vec![("user_id", user.id.to_string())];
            Ok(job.done(format!("banned {user}{deleting}{why}"), output, None))
        }
        other => Err(CallError::Invalid(format!(
            "{} is not a role or member action",
            other.name()
        ))),
    }
}

/// The body of a role create or edit, and its settings in words for the summary.
fn role_body<L: Lookup>(
    job: &mut Job<'_, L>,
    settings: &RoleSettings,
) -> Result<(Map<String, Value>, Vec<String>), CallError> {
    let mut body = Map::new();
    let mut words = Vec::new();
    if let Some(name) = job.optional(&settings.name) {
        let name = cut("role name", name, MAX_ROLE_NAME_CHARS, &mut job.warnings);
        words.push(format!("@{name}"));
        body.insert("name".into(), json!(name));
    }
    if let Some(color) = &settings.color {
        let color = render_color(color, job.vars)?;
        words.push(format!("color #{color:06x}"));
        body.insert("color".into(), json!(color));
    }
    if let Some(hoist) = settings.hoist {
        words.push(
            if hoist {
                "shown apart"
            } else {
                "not shown apart"
            }
            .to_owned(),
        );
        body.insert("hoist".into(), json!(hoist));
    }
    if let Some(mentionable) = settings.mentionable {
        words.push(
            if mentionable {
                "mentionable"
            } else {
                "not mentionable"
            }
            .to_owned(),
        );
        body.insert("mentionable".into(), json!(mentionable));
    }
    if let Some(permissions) = settings.permissions {
        words.push(format!("permissions {permissions}"));
        // Discord's spec takes a number here, as serenity sends it.
        body.insert("permissions".into(), json!(permissions));
    }
    Ok((body, words))
}

fn role_output(role: &RoleRef) -> Vec<(&'static str, String)> {
    vec![
        ("id", role.id.to_string()),
        ("name", role.name.clone()),
        ("mention", format!("<@&{}>", role.id)),
    ]
}

fn unix_now() -> i64 {
    i64::try_from(crate::run::unix_now_ms() / 1000).unwrap_or(i64::MAX)
}
