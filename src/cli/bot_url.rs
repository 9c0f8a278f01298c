//! Where the webhook URLs the CLI prints point: the base of the URL and the bot's user id,
//! from the running hookbot when it answers, else from the config, the database and the token.

use crate::admin::client::Client;
use crate::admin::protocol::socket_path;
use crate::config::{Config, StoreLocation};
use crate::discord::bot_id_from_token;
use crate::engine::Store;

/// The base of webhook URLs and the bot's id: from the running hookbot when its admin socket
/// answers (it knows the address it bound and asked Discord who it is), else from the config,
/// the database and the token.
pub(super) async fn url_base(config: &Config) -> (String, Option<u64>) {
    let socket = socket_path(&config.database_path());
    if let Some(status) = Client::status_at(&socket).await {
        return (status.base_url.clone(), status.bot_id());
    }
    (
        config.public_base_url(config.http.listen),
        known_bot_id(config).await,
    )
}

/// The bot's user id without asking Discord: remembered by the last `hookbot run`, or read from
/// the token, whose first part is the id in base64.
async fn remembered_or_token_bot_id(config: &Config) -> Option<u64> {
    // Opening creates a sled database; a command that only reads must not leave one behind.
    let store = match config.store_location() {
        location @ StoreLocation::Postgres(_) => Store::open_at(&location).await.ok(),
        StoreLocation::Sled(database) => database
            .exists()
            .then(|| Store::open(&database).ok())
            .flatten(),
    };
    let remembered = match store {
        Some(store) => store.bot_id().await.ok().flatten(),
        None => None,
    };
    remembered.or_else(|| config.discord.token.as_deref().and_then(bot_id_from_token))
}

/// [`remembered_or_token_bot_id`], saying on stderr how to fill in `{bot_id}` when unknown.
async fn known_bot_id(config: &Config) -> Option<u64> {
    let id = remembered_or_token_bot_id(config).await;
    if id.is_none() {
        eprintln!(
            "note: the bot's user id is not known yet; `hookbot run` learns it from Discord \
             (until then URLs show {{bot_id}})"
        );
    }
    id
}
