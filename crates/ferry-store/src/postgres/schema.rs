//! Ferry's schema on PostgreSQL, as numbered migrations run at start-up — the same numbers
//! as the embedded database's. The version is kept in `ferry.schema_version`; nodes starting
//! together take turns through an advisory lock, so each migration runs once; a database a
//! newer Ferry wrote is refused untouched.

use super::PostgresStore;
use super::settings::SCHEMA;
use crate::StoreError;

/// One step of the schema.
struct Migration {
    /// The version the database is at once it ran.
    version: u32,
    /// What it does, for errors.
    name: &'static str,
    /// Its statements.
    sql: &'static str,
}

/// The lock every node takes while it reads and changes the schema version
/// (`pg_advisory_xact_lock`); any constant, the same on every node.
const MIGRATION_LOCK: i64 = 0x6665_7272_795f_736d;

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "key-value data, scripts, users, sessions, tokens, groups, script access, OAuth",
        sql: BASELINE,
    },
    Migration {
        version: 2,
        name: "refresh-token families, for reuse detection",
        sql: "
ALTER TABLE oauth_tokens ADD COLUMN family TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth_tokens ADD COLUMN used BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX oauth_tokens_by_family ON oauth_tokens (family);
",
    },
    Migration {
        version: 3,
        name: "nodes and the messages too large to notify",
        sql: "
CREATE TABLE nodes (
    id        TEXT PRIMARY KEY,
    host      TEXT NOT NULL,
    started   BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE TABLE node_messages (
    id   BIGSERIAL PRIMARY KEY,
    body TEXT NOT NULL,
    sent BIGINT NOT NULL
);
CREATE INDEX node_messages_by_age ON node_messages (sent);
",
    },
    Migration {
        version: 4,
        name: "scripts' secrets and scheduled jobs",
        sql: SECRETS_AND_JOBS,
    },
    Migration {
        version: 5,
        name: "scripts' assets",
        sql: assets_schema!("BYTEA"),
    },
];

/// Migration 4: the secrets table (sealed values only) and the jobs table.
const SECRETS_AND_JOBS: &str = concat!(
    "
CREATE TABLE secrets (
    script  TEXT NOT NULL,
    name    TEXT NOT NULL,
    sealed  BYTEA NOT NULL,
    updated BIGINT NOT NULL,
    PRIMARY KEY (script, name)
);
",
    jobs_schema!()
);

/// The schema version this build writes.
pub(super) fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |migration| migration.version)
}

/// Migration 1: every table as the embedded database had it at version 1.
const BASELINE: &str = "
CREATE TABLE kv (
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE personal_kv (
    script  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (script, user_id, key)
);
CREATE TABLE scripts (
    uri     TEXT PRIMARY KEY,
    content TEXT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    provider       TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email          TEXT,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    name           TEXT,
    role           TEXT NOT NULL,
    created        BIGINT NOT NULL,
    last_sign_in   BIGINT NOT NULL,
    UNIQUE (provider, subject)
);
CREATE TABLE sessions (
    id_hash   BYTEA PRIMARY KEY,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created   BIGINT NOT NULL,
    last_seen BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id, created);
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL UNIQUE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created    BIGINT NOT NULL,
    expires    BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id, created);
CREATE TABLE pending_sign_ins (
    state    TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    nonce    TEXT NOT NULL,
    verifier TEXT NOT NULL,
    callback TEXT NOT NULL,
    redirect TEXT NOT NULL,
    created  BIGINT NOT NULL
);
CREATE TABLE groups (
    name    TEXT PRIMARY KEY,
    created BIGINT NOT NULL
);
CREATE TABLE group_members (
    group_name  TEXT NOT NULL REFERENCES groups (name) ON DELETE CASCADE,
    member_kind TEXT NOT NULL CHECK (member_kind IN ('user', 'group')),
    member      TEXT NOT NULL,
    PRIMARY KEY (group_name, member_kind, member)
);
CREATE INDEX group_members_by_member ON group_members (member_kind, member);
CREATE TABLE script_access (
    script_uri  TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('owner', 'grant')),
    member_kind TEXT NOT NULL CHECK (member_kind IN ('user', 'group')),
    member      TEXT NOT NULL,
    added       BIGINT NOT NULL,
    PRIMARY KEY (script_uri, level, member_kind, member)
);
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    secret_hash   BYTEA,
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    created       BIGINT NOT NULL
);
CREATE TABLE oauth_codes (
    code_hash    BYTEA PRIMARY KEY,
    client_id    TEXT NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri TEXT NOT NULL,
    challenge    TEXT NOT NULL,
    resource     TEXT NOT NULL,
    scope        TEXT NOT NULL,
    created      BIGINT NOT NULL
);
CREATE TABLE oauth_tokens (
    token_hash BYTEA PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    resource   TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created    BIGINT NOT NULL,
    expires    BIGINT NOT NULL
);
CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires);
";

/// The version the database is at (0: Ferry never ran here), read inside `transaction`.
async fn version(
    transaction: &deadpool_postgres::Transaction<'_>,
) -> Result<u32, tokio_postgres::Error> {
    let row = transaction
        .query_opt("SELECT max(version) FROM schema_version", &[])
        .await?;
    let found: Option<i32> = row.map(|row| row.try_get(0)).transpose()?.flatten();
    Ok(found
        .and_then(|version| u32::try_from(version).ok())
        .unwrap_or(0))
}

/// Brings the database up to [`latest`], one migration per transaction.
pub(super) async fn migrate(store: &PostgresStore) -> Result<(), StoreError> {
    let mut client = store.client().await?;
    let database = || store.describe().to_owned();
    let failed = |name: &'static str| {
        move |error: tokio_postgres::Error| match store.error(error) {
            unavailable @ StoreError::Unavailable { .. } => unavailable,
            other => StoreError::Migration {
                database: database(),
                name,
                source: Box::new(other),
            },
        }
    };
    let steps = std::iter::once(None).chain(MIGRATIONS.iter().map(Some));
    for step in steps {
        let name = step.map_or("reading the schema version", |migration| migration.name);
        let transaction = client.transaction().await.map_err(failed(name))?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(failed(name))?;
        transaction
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {SCHEMA};
                 CREATE TABLE IF NOT EXISTS {SCHEMA}.schema_version (version INTEGER NOT NULL);"
            ))
            .await
            .map_err(failed(name))?;
        // Another node may have migrated while this one waited for the lock.
        let found = version(&transaction).await.map_err(failed(name))?;
        match step {
            None if found > latest() => {
                return Err(StoreError::TooNew {
                    database: database(),
                    found,
                    supported: latest(),
                    elsewhere: "another database in --database-url",
                });
            }
            Some(migration) if found < migration.version => {
                transaction
                    .batch_execute(migration.sql)
                    .await
                    .map_err(failed(name))?;
                transaction
                    .execute("DELETE FROM schema_version", &[])
                    .await
                    .map_err(failed(name))?;
                let version = i32::try_from(migration.version).unwrap_or(i32::MAX);
                transaction
                    .execute(
                        "INSERT INTO schema_version (version) VALUES ($1)",
                        &[&version],
                    )
                    .await
                    .map_err(failed(name))?;
            }
            _ => {}
        }
        transaction.commit().await.map_err(failed(name))?;
    }
    Ok(())
}
