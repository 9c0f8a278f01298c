//! The actions that talk to Discord: one entry point, [`perform`], for every one of them.
//!
//! Each action renders its templates, checks every rendered value, resolves the channels,
//! users and roles it names (from the cache, else with read-only look-ups), and only then asks
//! [`crate::discord`]'s [`Writer`] to write, with the rendered `reason` as the audit-log reason:
//! no action calls serenity itself. In a dry run it stops before the write and says what it
//! would have done.

mod buttons;
mod channels;
mod job;
mod members;
mod messages;
mod render;
mod replies;
mod values;

#[cfg(test)]
mod sandbox_tests;

use serenity::all::GuildId;

use crate::discord::{CallError, Discord, Holder, Pacer};
use crate::events::ActionKind;
use crate::lang::templates::Lookup;

use job::Job;

pub use job::Performed;
pub use render::{allowed_mentions, truncate};

/// Where and how an action runs.
pub struct ActionContext<'a> {
    pub discord: &'a Discord,
    /// The event's server: every channel, role and member an action names must be in it.
    pub guild: GuildId,
    /// Render, resolve and check, but make no write request.
    pub dry_run: bool,
    /// The outbound governor every write call asks first (one per process).
    pub pacer: &'a Pacer,
    /// The queued run acting: its calls that must wait for Discord's pace park it instead
    /// (`None`: a trial by hand, whose calls wait inline).
    pub holder: Option<Holder>,
    /// For message sends: the `nonce` Discord drops a repeated send by (at most 25
    /// characters, stable across retries and restarts).
    pub nonce: Option<String>,
    /// This action may have been carried out already (the run resumed here after a crash or a
    /// retry): a delete that finds its target gone counts as done.
    pub repeat: bool,
    /// The slash command or click that started the run, which `reply` answers.
    pub interaction: Option<crate::run::InteractionRef>,
    /// A `reply` of this run has already been carried out (it is in the journal): a later one
    /// is a follow-up rather than the edit of the "thinking…" answer.
    pub replied: bool,
    /// Where a button's value too long for its `custom_id` is kept; `None` (a trial) carries
    /// what fits and stores nothing.
    pub store: Option<&'a crate::engine::Store>,
}

/// Carries out one action that talks to Discord. The kinds that do not (`http_request`,
/// variables, `math`, flow) are the interpreter's and answer [`CallError::Invalid`].
pub async fn perform(
    ctx: &ActionContext<'_>,
    kind: &ActionKind,
    vars: &impl Lookup,
) -> Result<Performed, CallError> {
    let job = Job {
        discord: ctx.discord,
        guild: ctx.guild,
        dry_run: ctx.dry_run,
        writer: ctx.discord.writer(ctx.pacer, ctx.holder),
        nonce: ctx.nonce.as_deref(),
        repeat: ctx.repeat,
        store: ctx.store,
        vars,
        kind,
        warnings: Vec::new(),
    };
    use ActionKind as K;
    match kind {
        K::SendMessage { .. }
        | K::SendDm { .. }
        | K::EditMessage { .. }
        | K::DeleteMessage { .. }
        | K::React { .. }
        | K::PinMessage { .. }
        | K::UnpinMessage { .. }
        | K::PublishMessage { .. } => messages::perform(job).await,
        K::AddRole { .. }
        | K::RemoveRole { .. }
        | K::CreateRole { .. }
        | K::EditRole { .. }
        | K::DeleteRole { .. }
        | K::SetNickname { .. }
        | K::TimeoutMember { .. }
        | K::RemoveTimeout { .. }
        | K::KickMember { .. }
        | K::BanMember { .. }
        | K::UnbanMember { .. } => members::perform(job).await,
        K::CreateChannel { .. }
        | K::EditChannel { .. }
        | K::DeleteChannel { .. }
        | K::CreateThread { .. }
        | K::EditThread { .. }
        | K::CreateInvite { .. } => channels::perform(job).await,
        K::HttpRequest { .. }
        | K::SetVariable { .. }
        | K::DeleteVariable { .. }
        | K::GetVariable { .. }
        | K::Math { .. }
        | K::If { .. }
        | K::Random { .. }
        | K::Loop { .. }
        | K::StopLoop
        | K::Wait { .. }
        | K::Stop => Err(CallError::Invalid(format!(
            "{} does not talk to Discord; the interpreter carries it out",
            kind.name()
        ))),
        K::Reply { .. } => replies::perform(job, ctx.interaction.as_ref(), ctx.replied).await,
    }
}
