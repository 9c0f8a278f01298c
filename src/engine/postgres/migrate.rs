//! The schema's versions: the numbered SQL files in `migrations/`, applied in order, each once,
//! and recorded in `hookbot.schema_migrations`.
//!
//! Every instance migrates when it connects (`hookbot run` and each admin command). All of it is
//! one transaction under an advisory lock, so instances starting together apply each migration
//! once, and a migration that fails leaves the schema as it was. A database migrated by a newer
//! hookbot is refused rather than written with an older idea of its records.

use crate::engine::error::StoreError;

/// The migrations, in order: the number in each file's name is its version.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "initial", include_str!("migrations/0001_initial.sql")),
    (2, "triggers", include_str!("migrations/0002_triggers.sql")),
];

/// The schema version this hookbot writes: the last migration's.
pub(super) const SCHEMA_VERSION: i32 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// The advisory lock migrations hold (within their transaction): "hookbot" and a 1 in ASCII.
/// Other advisory locks hookbot takes use other keys.
pub(super) const MIGRATION_LOCK: i64 = 0x686f_6f6b_626f_7401;

/// Creates the schema or brings it to [`SCHEMA_VERSION`].
pub(super) async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), StoreError> {
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    transaction
        .batch_execute(
            "CREATE SCHEMA IF NOT EXISTS hookbot;
             CREATE TABLE IF NOT EXISTS hookbot.schema_migrations (
                 version    integer     PRIMARY KEY,
                 name       text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             );",
        )
        .await?;
    let applied: i32 = transaction
        .query_one(
            "SELECT coalesce(max(version), 0) FROM hookbot.schema_migrations",
            &[],
        )
        .await?
        .get(0);
    if applied > SCHEMA_VERSION {
        return Err(StoreError::Engine(
            format!(
                "the PostgreSQL schema \"hookbot\" is at version {applied}, made by a newer hookbot; this one knows versions up to {SCHEMA_VERSION}: upgrade hookbot on this machine"
            )
            .into(),
        ));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > applied) {
        transaction.batch_execute(sql).await.map_err(|error| {
            StoreError::Engine(
                format!("PostgreSQL migration {version} ({name}) failed: {error}").into(),
            )
        })?;
        transaction
            .execute(
                "INSERT INTO hookbot.schema_migrations (version, name) VALUES ($1, $2)",
                &[version, name],
            )
            .await?;
        tracing::info!(version, name, "PostgreSQL schema migrated");
    }
    transaction.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_count_up_from_one_and_match_their_files() {
        for (index, (version, name, sql)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version as usize, index + 1, "migration {name}");
            assert!(!sql.trim().is_empty(), "migration {name} is empty");
        }
        assert_eq!(SCHEMA_VERSION as usize, MIGRATIONS.len());
    }
}
