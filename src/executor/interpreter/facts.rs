//! What an `if` asks beyond its text, during a run: a member's roles from Discord, and the
//! run's own dice for `chance`. The evaluation itself is [`crate::executor::conditions`],
//! shared with `[[when]]`.

use rand::rngs::StdRng;
use rand::Rng;
use serenity::all::GuildId;

use super::failure::action_error;
use super::state::{scope_of, Interpreter};
use crate::discord::{CallError, Discord};
use crate::events::Condition;
use crate::executor::conditions::{self, Facts, Verdict};
use crate::run::ActionError;

/// The facts of a run's server.
struct ServerFacts<'r> {
    discord: &'r Discord,
    guild: GuildId,
    rng: &'r mut StdRng,
}

impl Facts for ServerFacts<'_> {
    type Error = ActionError;

    async fn has_role(&mut self, user: &str, role: &str) -> Result<bool, ActionError> {
        member_has_role(self.discord, self.guild, user, role)
            .await
            .map_err(action_error)
    }

    fn roll(&mut self) -> f64 {
        self.rng.random_range(0.0..100.0)
    }
}

impl Interpreter<'_> {
    /// Evaluates a condition against the run's values; the verdict explains the answer in plain
    /// words for the run's log.
    pub(super) async fn evaluate(&mut self, condition: &Condition) -> Result<Verdict, ActionError> {
        let guild = self.guild();
        let Interpreter {
            ctx,
            run,
            values,
            rng,
            ..
        } = self;
        let scope = scope_of(values, run);
        let mut facts = ServerFacts {
            discord: ctx.discord,
            guild,
            rng,
        };
        conditions::evaluate(condition, &scope, &mut facts).await
    }
}

/// Whether the member has the role now: the cache when it knows the member, else Discord.
async fn member_has_role(
    discord: &Discord,
    guild: GuildId,
    user: &str,
    role: &str,
) -> Result<bool, CallError> {
    let user = discord.resolve_user(guild, user).await?;
    let (role, _) = discord.resolve_role(guild, role).await?;
    let cached = discord
        .cache
        .guild(guild)
        .and_then(|g| g.members.get(&user).map(|m| m.roles.contains(&role)));
    if let Some(holds) = cached {
        return Ok(holds);
    }
    let member = discord.member(guild, user).await?;
    Ok(member.roles.contains(&role))
}
