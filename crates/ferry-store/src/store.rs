//! [`Store`]: the back end Ferry was started with, SQLite or PostgreSQL, behind one type
//! whose connections implement every store trait.

use std::path::{Path, PathBuf};

use crate::groups::{AccessLevel, GroupRecord, Joined, Member, ScriptAccessRecord};
use crate::identity::{AccountClaims, PendingSignIn, SessionRecord, TokenRecord, UserRecord};
use crate::oauth::{AuthorizationCode, OAuthClient, OAuthToken, Refresh};
use crate::{
    Asset, AssetInfo, AssetStore, ClaimedJob, Groups, IdentityStore, JobQueue, JobRecord, KeyValue,
    NewAsset, OAuthStore, PersonalKeyValue, PostgresConnection, PostgresOptions, PostgresStore,
    ScriptAccess, ScriptRepository, SecretStore, SqliteConnection, SqliteStore, StoreError,
    StoredScript,
};

/// Where Ferry keeps its data: an embedded SQLite database or a PostgreSQL server. Cloning
/// gives another handle to the same store.
#[derive(Debug, Clone)]
pub enum Store {
    /// The embedded database in a data directory.
    Sqlite(SqliteStore),
    /// A PostgreSQL database, possibly shared with other Ferry nodes.
    Postgres(PostgresStore),
}

impl Store {
    /// Opens the SQLite database in `dir` (creating both if needed) and brings its schema up
    /// to date.
    pub fn sqlite(dir: &Path) -> Result<Store, StoreError> {
        SqliteStore::open(dir).map(Store::Sqlite)
    }

    /// Connects to PostgreSQL as `options` say and brings Ferry's schema there up to date.
    /// Blocks until done: call it off the async threads.
    pub fn postgres(options: &PostgresOptions) -> Result<Store, StoreError> {
        PostgresStore::open(options).map(Store::Postgres)
    }

    /// A connection for this thread.
    pub fn connect(&self) -> Result<StoreConnection, StoreError> {
        Ok(match self {
            Store::Sqlite(store) => StoreConnection::Sqlite(store.connect()?),
            Store::Postgres(store) => StoreConnection::Postgres(store.connect()),
        })
    }

    /// The files the data lives in, to keep out of anything served (none for PostgreSQL).
    pub fn files(&self) -> Vec<PathBuf> {
        match self {
            Store::Sqlite(store) => store.files(),
            Store::Postgres(_) => Vec::new(),
        }
    }

    /// The database, for messages: the SQLite file, or the PostgreSQL URL without its
    /// password.
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(store) => store.path().display().to_string(),
            Store::Postgres(store) => store.describe().to_owned(),
        }
    }
}

impl Store {
    /// Whether other Ferry nodes may share this store (PostgreSQL).
    pub fn is_shared(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// Sends `message` to the other nodes sharing this store, in order; nothing to do on the
    /// embedded database.
    pub fn broadcast(&self, message: String) {
        if let Store::Postgres(store) = self {
            store.broadcast(message);
        }
    }

    /// Asks the database a trivial question; how long the answer took, or why none came.
    /// Blocks: call it off the async threads.
    pub fn ping(&self) -> Result<std::time::Duration, StoreError> {
        let started = std::time::Instant::now();
        match self {
            Store::Sqlite(store) => store.connect()?.ping()?,
            Store::Postgres(store) => store.connect().ping()?,
        }
        Ok(started.elapsed())
    }

    /// What the other nodes sharing this store say, from now on (the first call only; none
    /// on the embedded database).
    pub fn follow(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<crate::NodeEvent>> {
        match self {
            Store::Postgres(store) => store.follow(),
            Store::Sqlite(_) => None,
        }
    }
}

impl Store {
    /// The database of `script`'s own tables (`db` and `database` in scripts), for this
    /// thread: a file in the data directory's `scripts/` on SQLite, a schema on PostgreSQL.
    pub fn script_database(
        &self,
        script: &str,
        limits: crate::SqlLimits,
    ) -> Result<crate::ScriptDatabase, StoreError> {
        Ok(match self {
            Store::Sqlite(store) => {
                let dir = store.path().parent().unwrap_or(Path::new("."));
                crate::ScriptDatabase::Sqlite(crate::sql::sqlite_file(dir, script, limits)?)
            }
            Store::Postgres(store) => {
                crate::ScriptDatabase::Postgres(crate::sql::postgres_schema(store, script, limits))
            }
        })
    }
}

impl From<SqliteStore> for Store {
    fn from(store: SqliteStore) -> Store {
        Store::Sqlite(store)
    }
}

impl From<PostgresStore> for Store {
    fn from(store: PostgresStore) -> Store {
        Store::Postgres(store)
    }
}

/// A connection to a [`Store`]; use it from one thread at a time. It implements every store
/// trait by handing the call to its back end.
#[derive(Debug)]
pub enum StoreConnection {
    /// A connection to the embedded database.
    Sqlite(SqliteConnection),
    /// A handle on PostgreSQL's pool.
    Postgres(PostgresConnection),
}

/// Implements `$trait` for [`StoreConnection`] by calling the same method on the back end.
macro_rules! each_back_end {
    ($trait:ident { $(fn $name:ident(&mut self $(, $arg:ident: $type:ty)*) -> $answer:ty;)* }) => {
        impl $trait for StoreConnection {
            $(fn $name(&mut self $(, $arg: $type)*) -> $answer {
                match self {
                    StoreConnection::Sqlite(connection) => connection.$name($($arg),*),
                    StoreConnection::Postgres(connection) => connection.$name($($arg),*),
                }
            })*
        }
    };
}

each_back_end!(KeyValue {
    fn get_item(&mut self, scope: &str, key: &str) -> Result<Option<String>, StoreError>;
    fn set_item(&mut self, scope: &str, key: &str, value: &str) -> Result<(), StoreError>;
    fn remove_item(&mut self, scope: &str, key: &str) -> Result<bool, StoreError>;
    fn clear(&mut self, scope: &str) -> Result<usize, StoreError>;
});

each_back_end!(PersonalKeyValue {
    fn personal_get(&mut self, script: &str, user: &str, key: &str) -> Result<Option<String>, StoreError>;
    fn personal_set(&mut self, script: &str, user: &str, key: &str, value: &str) -> Result<(), StoreError>;
    fn personal_remove(&mut self, script: &str, user: &str, key: &str) -> Result<bool, StoreError>;
    fn personal_clear(&mut self, script: &str, user: &str) -> Result<usize, StoreError>;
});

each_back_end!(ScriptRepository {
    fn upsert_script(&mut self, uri: &str, content: &str) -> Result<(), StoreError>;
    fn delete_script(&mut self, uri: &str) -> Result<bool, StoreError>;
    fn read_script(&mut self, uri: &str) -> Result<Option<StoredScript>, StoreError>;
    fn list_scripts(&mut self) -> Result<Vec<StoredScript>, StoreError>;
});

each_back_end!(AssetStore {
    fn list_assets(&mut self, script: &str) -> Result<Vec<AssetInfo>, StoreError>;
    fn asset(&mut self, script: &str, name: &str) -> Result<Option<Asset>, StoreError>;
    fn upsert_asset(&mut self, script: &str, name: &str, mimetype: &str, content: &[u8]) -> Result<AssetInfo, StoreError>;
    fn upsert_assets(&mut self, script: &str, assets: &[NewAsset<'_>]) -> Result<Vec<AssetInfo>, StoreError>;
    fn replace_asset_if(&mut self, script: &str, name: &str, expected: &str, content: &[u8]) -> Result<Option<AssetInfo>, StoreError>;
    fn delete_asset(&mut self, script: &str, name: &str) -> Result<bool, StoreError>;
});

each_back_end!(SecretStore {
    fn secret_exists(&mut self, script: &str, name: &str) -> Result<bool, StoreError>;
    fn put_secret(&mut self, script: &str, name: &str, sealed: &[u8]) -> Result<(), StoreError>;
    fn sealed_secret(&mut self, script: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn remove_secret(&mut self, script: &str, name: &str) -> Result<bool, StoreError>;
    fn clear_secrets(&mut self, script: &str) -> Result<usize, StoreError>;
});

each_back_end!(JobQueue {
    fn schedule_job(&mut self, job: &JobRecord) -> Result<(), StoreError>;
    fn jobs(&mut self, script: &str) -> Result<Vec<JobRecord>, StoreError>;
    fn remove_job(&mut self, script: &str, name: &str) -> Result<bool, StoreError>;
    fn remove_jobs(&mut self, script: &str) -> Result<usize, StoreError>;
    fn claim_due_jobs(&mut self, node: &str, now: i64, lock_ms: i64, limit: usize) -> Result<Vec<ClaimedJob>, StoreError>;
    fn finish_job(&mut self, node: &str, script: &str, name: &str, next_due: Option<i64>, error: Option<&str>) -> Result<bool, StoreError>;
    fn release_job(&mut self, node: &str, script: &str, name: &str) -> Result<bool, StoreError>;
});

each_back_end!(IdentityStore {
    fn record_sign_in(&mut self, account: &AccountClaims<'_>, new_id: &str, role: &str, now: i64) -> Result<UserRecord, StoreError>;
    fn user(&mut self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    fn users(&mut self) -> Result<Vec<UserRecord>, StoreError>;
    fn set_role(&mut self, id: &str, role: &str) -> Result<bool, StoreError>;
    fn create_session(&mut self, id_hash: &[u8], user_id: &str, now: i64, keep_at_most: usize) -> Result<Vec<Vec<u8>>, StoreError>;
    fn session(&mut self, id_hash: &[u8]) -> Result<Option<(SessionRecord, UserRecord)>, StoreError>;
    fn touch_session(&mut self, id_hash: &[u8], now: i64) -> Result<(), StoreError>;
    fn delete_session(&mut self, id_hash: &[u8]) -> Result<bool, StoreError>;
    fn prune_sessions(&mut self, idle_before: i64, created_before: i64) -> Result<usize, StoreError>;
    fn save_pending(&mut self, pending: &PendingSignIn, expired_before: i64) -> Result<(), StoreError>;
    fn take_pending(&mut self, state: &str) -> Result<Option<PendingSignIn>, StoreError>;
    fn create_token(&mut self, hash: &[u8], token: &TokenRecord) -> Result<(), StoreError>;
    fn token(&mut self, hash: &[u8]) -> Result<Option<(TokenRecord, UserRecord)>, StoreError>;
    fn tokens(&mut self, user_id: &str) -> Result<Vec<TokenRecord>, StoreError>;
    fn revoke_token(&mut self, user_id: &str, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
});

each_back_end!(Groups {
    fn create_group(&mut self, name: &str, now: i64) -> Result<bool, StoreError>;
    fn delete_group(&mut self, name: &str) -> Result<bool, StoreError>;
    fn groups(&mut self) -> Result<Vec<GroupRecord>, StoreError>;
    fn has_group(&mut self, name: &str) -> Result<bool, StoreError>;
    fn join_group(&mut self, group: &str, member: &Member) -> Result<Joined, StoreError>;
    fn leave_group(&mut self, group: &str, member: &Member) -> Result<bool, StoreError>;
    fn user_groups(&mut self, user_id: &str) -> Result<Vec<String>, StoreError>;
});

each_back_end!(ScriptAccess {
    fn script_access(&mut self, uri: &str) -> Result<ScriptAccessRecord, StoreError>;
    fn hand_script(&mut self, uri: &str, level: AccessLevel, member: &Member) -> Result<bool, StoreError>;
    fn take_script(&mut self, uri: &str, level: AccessLevel, member: &Member) -> Result<bool, StoreError>;
    fn forget_script_access(&mut self, uri: &str) -> Result<(), StoreError>;
});

each_back_end!(OAuthStore {
    fn register_client(&mut self, client: &OAuthClient) -> Result<(), StoreError>;
    fn oauth_client(&mut self, id: &str) -> Result<Option<OAuthClient>, StoreError>;
    fn save_code(&mut self, hash: &[u8], code: &AuthorizationCode, expired_before: i64) -> Result<(), StoreError>;
    fn take_code(&mut self, hash: &[u8]) -> Result<Option<AuthorizationCode>, StoreError>;
    fn save_oauth_token(&mut self, hash: &[u8], token: &OAuthToken, now: i64) -> Result<(), StoreError>;
    fn access_token(&mut self, hash: &[u8]) -> Result<Option<(OAuthToken, UserRecord)>, StoreError>;
    fn use_refresh_token(&mut self, hash: &[u8]) -> Result<Refresh, StoreError>;
});
