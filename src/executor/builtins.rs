//! The built-in variables every event may use, whatever the caller sent.

use rand::{Rng, SeedableRng};
use serenity::all::{GuildId, Timestamp};

use crate::discord::Discord;
use crate::events::{all_templates, Event};
use crate::lang::templates::Variables;
use crate::run::Run;

/// What `{random_number}` may be: a whole number from 1 to this, inclusive.
pub const RANDOM_NUMBER_MAX: u32 = 100;

/// The built-ins for one run. They take precedence over the caller's variables, so `{run_id}`
/// and friends can be trusted. Every value is fixed for the run (`{timestamp}` is when the
/// webhook was accepted, `{random_number}` is drawn once from the run id), so a run resumed
/// after a restart sees the same values.
pub async fn builtins(event: &Event, run: &Run, discord: &Discord) -> Variables {
    let mut vars = Variables::new();
    let guild = GuildId::new(event.server);
    vars.insert("server_id", event.server.to_string());
    vars.insert("event_id", event.id.clone());
    vars.insert("event_name", event.name.clone());
    // Known before any run is taken up: from the token, an earlier start, or Discord.
    if let Some(bot_id) = discord.bot_id() {
        vars.insert("bot_id", bot_id.to_string());
    }
    vars.insert("run_id", run.id.to_text());
    let seconds = (run.received_at_ms / 1000) as i64;
    vars.insert("timestamp", seconds.to_string());
    if let Some(date) = Timestamp::from_unix_timestamp(seconds)
        .ok()
        .and_then(|t| t.to_rfc3339())
    {
        vars.insert("date", date);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(run.id.0);
    vars.insert(
        "random_number",
        rng.random_range(1..=RANDOM_NUMBER_MAX).to_string(),
    );

    // Server details may cost a REST call when the cache has not seen the server: only when used.
    let wanted = [
        "server_name",
        "server_icon",
        "server_member_count",
        "server_owner_id",
    ];
    let used = all_templates(&event.actions)
        .into_iter()
        .any(|t| t.names().any(|n| wanted.contains(&n)));
    if used {
        if let Some(server) = server_details(discord, guild).await {
            vars.insert("server_name", server.name);
            vars.insert("server_icon", server.icon_url.unwrap_or_default());
            if let Some(count) = server.member_count {
                vars.insert("server_member_count", count.to_string());
            }
            vars.insert("server_owner_id", server.owner_id.to_string());
        }
    }
    vars
}

struct ServerDetails {
    name: String,
    icon_url: Option<String>,
    member_count: Option<u64>,
    owner_id: u64,
}

/// From the cache, else from Discord (with its approximate member count).
async fn server_details(discord: &Discord, guild: GuildId) -> Option<ServerDetails> {
    let cached = discord.cache.guild(guild).map(|g| ServerDetails {
        name: g.name.clone(),
        icon_url: g.icon_url(),
        member_count: Some(g.member_count),
        owner_id: g.owner_id.get(),
    });
    if cached.is_some() {
        return cached;
    }
    let partial = discord.server_with_counts(guild).await?;
    Some(ServerDetails {
        icon_url: partial.icon_url(),
        member_count: partial.approximate_member_count,
        owner_id: partial.owner_id.get(),
        name: partial.name,
    })
}
