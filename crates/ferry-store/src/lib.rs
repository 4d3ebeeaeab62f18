//! Ferry's persistence layer.
//!
//! Everything Ferry keeps — the data scripts store (`sharedStorage`, `personalStorage`), the
//! scripts uploaded through the management API, and what sign-in needs (users, sessions,
//! pending sign-ins, groups, tokens) — sits behind small traits ([`KeyValue`],
//! [`ScriptRepository`], [`IdentityStore`], [`Groups`], ...) with two back ends: the
//! embedded default, [`SqliteStore`] (one SQLite database file in the data directory, WAL
//! mode, so readers never wait for a writer), and [`PostgresStore`], which several Ferry
//! nodes can share. [`Store`] is either; its connections implement every trait.
//!
//! Each thread that needs the store opens its own [`StoreConnection`] with
//! [`Store::connect`]: connections are cheap (PostgreSQL's come from a pool, one per
//! operation), and the databases serialise writers themselves.
//!
//! ```
//! use ferry_store::{KeyValue, Store};
//!
//! # fn main() -> Result<(), ferry_store::StoreError> {
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::sqlite(dir.path())?;
//! let mut connection = store.connect()?;
//! connection.set_item("app.js", "visits", "1")?;
//! assert_eq!(connection.get_item("app.js", "visits")?.as_deref(), Some("1"));
//! # Ok(())
//! # }
//! ```

#[macro_use]
mod assets;
mod clock;
mod groups;
mod identity;
#[macro_use]
mod jobs;
mod oauth;
mod secrets;
mod sqlite;
mod sqlite_assets;
mod sqlite_groups;
#[macro_use]
mod sqlite_identity;
mod sqlite_jobs;
mod sqlite_migrations;
mod sqlite_secrets;
#[macro_use]
mod sqlite_oauth;
mod postgres;
mod sql;
mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use assets::{Asset, AssetInfo, AssetStore, NewAsset, sha256_hex};
pub use groups::{
    AccessLevel, GroupRecord, Groups, Joined, Member, ScriptAccess, ScriptAccessRecord, circle,
};
pub use identity::{
    AccountClaims, IdentityStore, PendingSignIn, SessionRecord, TokenRecord, UserRecord,
};
pub use jobs::{ClaimedJob, JobQueue, JobRecord};
pub use oauth::{AuthorizationCode, OAuthClient, OAuthStore, OAuthToken, OAuthTokenKind, Refresh};
pub use postgres::{
    ListenerStatus, NodeEvent, NodeRecord, PostgresConnection, PostgresOptions, PostgresStore,
};
pub use secrets::{SecretError, SecretKey, SecretStore};
pub use sql::guard;
pub use sql::{
    DetachedRun, Savepoint, ScriptDatabase, SqlDialect, SqlError, SqlLimits, SqlOutcome,
    SqlStatement, SqlTransaction, SqlValue,
};
pub use sqlite::{SqliteConnection, SqliteStore};
pub use store::{Store, StoreConnection};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: std::path::PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The database was written by a newer Ferry: its schema is at a version this build does
    /// not know, so it is left untouched.
    #[error(
        "the database {database} was written by a newer Ferry (schema version {found}; this Ferry knows up to {supported}): run the newer Ferry, or give this one {elsewhere}"
    )]
    TooNew {
        /// The database (file or redacted URL).
        database: String,
        /// The version it is at.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
        /// Where else this Ferry could keep its data (`another --data-dir`).
        elsewhere: &'static str,
    },
    /// A migration of the schema failed; the database stays at the version before it.
    #[error("cannot bring the database {database} up to date ({name}): {source}")]
    Migration {
        /// The database (file or redacted URL).
        database: String,
        /// What the migration does.
        name: &'static str,
        /// The database's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The database rejected an operation or could not be opened.
    #[error("database error in {path}: {source}")]
    Database {
        /// The database file.
        path: std::path::PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// PostgreSQL rejected an operation.
    #[error("database error in {database}: {}", postgres_message(.source))]
    Postgres {
        /// The database, its URL without the password.
        database: String,
        /// What PostgreSQL (or the driver) said.
        source: tokio_postgres::Error,
    },
    /// The database cannot be reached now: it is down, the network is, or every pooled
    /// connection stayed busy. Worth trying again later.
    #[error("the database {database} cannot be reached: {reason}")]
    Unavailable {
        /// The database, its URL without the password.
        database: String,
        /// Why not.
        reason: String,
    },
    /// The database URL or its TLS settings are wrong.
    #[error("{0}")]
    Settings(String),
}

/// What PostgreSQL said, in full: tokio-postgres's own message for a server error is only
/// "db error".
fn postgres_message(error: &tokio_postgres::Error) -> String {
    let Some(said) = error.as_db_error() else {
        return error.to_string();
    };
    let mut message = said.message().to_owned();
    if let Some(detail) = said.detail() {
        message.push_str(" (");
        message.push_str(detail);
        message.push(')');
    }
    if let Some(hint) = said.hint() {
        message.push_str("; ");
        message.push_str(hint);
    }
    message
}

impl StoreError {
    /// Whether the database could not be reached (as opposed to refusing what was asked):
    /// the operation may succeed if tried again later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

/// A key-value store per script and user (`personalStorage` in scripts): each signed-in user
/// of each script has their own keys, apart from the script's shared ones.
pub trait PersonalKeyValue {
    /// The value `user` stored under `key` in `script`, if any.
    fn personal_get(
        &mut self,
        script: &str,
        user: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key` for `user` in `script`, replacing any previous value.
    fn personal_set(
        &mut self,
        script: &str,
        user: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError>;
    /// Removes `user`'s `key` in `script`; says whether it was there.
    fn personal_remove(&mut self, script: &str, user: &str, key: &str) -> Result<bool, StoreError>;
    /// Removes every key of `user` in `script`; returns how many there were.
    fn personal_clear(&mut self, script: &str, user: &str) -> Result<usize, StoreError>;
}

/// A key-value store partitioned by scope (Ferry uses the script's name as the scope, so each
/// script sees only its own keys).
pub trait KeyValue {
    /// The value stored under `key`, if any.
    fn get_item(&mut self, scope: &str, key: &str) -> Result<Option<String>, StoreError>;
    /// Stores `value` under `key`, replacing any previous value.
    fn set_item(&mut self, scope: &str, key: &str, value: &str) -> Result<(), StoreError>;
    /// Removes `key`; says whether it was there.
    fn remove_item(&mut self, scope: &str, key: &str) -> Result<bool, StoreError>;
    /// Removes every key of `scope`; returns how many there were.
    fn clear(&mut self, scope: &str) -> Result<usize, StoreError>;
}

/// A stored script, as listed by [`ScriptRepository::list_scripts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScript {
    /// The script's name (a URI in aiwebengine's management API).
    pub uri: String,
    /// Its source text.
    pub content: String,
    /// When it was last written, in seconds since the Unix epoch.
    pub updated: i64,
}

/// Scripts uploaded at run time, kept so that they survive a restart.
pub trait ScriptRepository {
    /// Inserts or replaces the script `uri`.
    fn upsert_script(&mut self, uri: &str, content: &str) -> Result<(), StoreError>;
    /// Deletes the script `uri`; says whether it existed.
    fn delete_script(&mut self, uri: &str) -> Result<bool, StoreError>;
    /// The script `uri`, if stored.
    fn read_script(&mut self, uri: &str) -> Result<Option<StoredScript>, StoreError>;
    /// Every stored script, ordered by name.
    fn list_scripts(&mut self) -> Result<Vec<StoredScript>, StoreError>;
}
