//! Ferry's persistence layer.
//!
//! Scripts keep data that must outlive a restart and be shared by every JavaScript worker:
//! a key-value store per script (`sharedStorage` in scripts) and the scripts uploaded
//! through the management API; sign-in keeps users, sessions and pending sign-ins. Each
//! sits behind a small trait, [`KeyValue`], [`ScriptRepository`] and [`IdentityStore`], so that a PostgreSQL back end can serve several
//! Ferry nodes later; the embedded default is [`SqliteStore`], one SQLite database file in
//! the data directory (WAL mode, so readers never wait for a writer).
//!
//! Each thread that needs the store opens its own [`StoreConnection`] with
//! [`SqliteStore::connect`]: connections are cheap, and SQLite serialises writers itself.
//!
//! ```
//! use ferry_store::{KeyValue, SqliteStore};
//!
//! # fn main() -> Result<(), ferry_store::StoreError> {
//! let dir = tempfile::tempdir().unwrap();
//! let store = SqliteStore::open(dir.path())?;
//! let mut connection = store.connect()?;
//! connection.set_item("app.js", "visits", "1")?;
//! assert_eq!(connection.get_item("app.js", "visits")?.as_deref(), Some("1"));
//! # Ok(())
//! # }
//! ```

mod groups;
mod identity;
mod oauth;
mod sqlite;
mod sqlite_groups;
#[macro_use]
mod sqlite_identity;
mod sqlite_migrations;
mod sqlite_oauth;

pub use groups::{
    AccessLevel, GroupRecord, Groups, Joined, Member, ScriptAccess, ScriptAccessRecord, circle,
};
pub use identity::{
    AccountClaims, IdentityStore, PendingSignIn, SessionRecord, TokenRecord, UserRecord,
};
pub use oauth::{AuthorizationCode, OAuthClient, OAuthStore, OAuthToken, OAuthTokenKind, Refresh};
pub use sqlite::{SqliteStore, StoreConnection};

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
        "the database {path} was written by a newer Ferry (schema version {found}; this Ferry knows up to {supported}): run the newer Ferry, or give this one another --data-dir"
    )]
    TooNew {
        /// The database file.
        path: std::path::PathBuf,
        /// The version it is at.
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// A migration of the schema failed; the database stays at the version before it.
    #[error("cannot bring the database {path} up to date ({name}): {source}")]
    Migration {
        /// The database file.
        path: std::path::PathBuf,
        /// What the migration does.
        name: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The database rejected an operation or could not be opened.
    #[error("database error in {path}: {source}")]
    Database {
        /// The database file.
        path: std::path::PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
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
