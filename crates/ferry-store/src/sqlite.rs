//! The embedded SQLite back end.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

use crate::sqlite_migrations::MigrationError;
use crate::{KeyValue, PersonalKeyValue, ScriptRepository, StoreError, StoredScript};

/// The database file's name inside the data directory.
pub(crate) const DATABASE_FILE: &str = "ferry.db";

/// How long a writer waits for another connection's write to finish before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The key-value and script tables (see `sqlite_migrations`).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv (
    scope TEXT NOT NULL,
    key   TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS personal_kv (
    script  TEXT NOT NULL,
    user_id TEXT NOT NULL,
    key     TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (script, user_id, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS scripts (
    uri     TEXT PRIMARY KEY,
    content TEXT NOT NULL,
    updated INTEGER NOT NULL
);
";

/// An SQLite database in a data directory; open a [`StoreConnection`] per thread with
/// [`SqliteStore::connect`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    path: PathBuf,
}

impl SqliteStore {
    /// Opens (creating if needed) the directory `dir` and the database in it, and brings its
    /// schema up to date.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let store = SqliteStore {
            path: dir.join(DATABASE_FILE),
        };
        let mut connection = store.connect()?;
        crate::sqlite_migrations::migrate(&mut connection.connection).map_err(
            |error| match error {
                MigrationError::TooNew { found } => StoreError::TooNew {
                    path: store.path.clone(),
                    found,
                    supported: crate::sqlite_migrations::latest(),
                },
                MigrationError::Failed { name, source } => StoreError::Migration {
                    path: store.path.clone(),
                    name,
                    source,
                },
            },
        )?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every file the database lives in: the database, its write-ahead log and its shared
    /// memory (for keeping them out of anything served).
    pub fn files(&self) -> Vec<PathBuf> {
        ["", "-wal", "-shm"]
            .iter()
            .map(|suffix| {
                let mut name = self.path.clone().into_os_string();
                name.push(suffix);
                PathBuf::from(name)
            })
            .collect()
    }

    /// A new connection to the database, in WAL mode with a busy timeout.
    pub fn connect(&self) -> Result<StoreConnection, StoreError> {
        let setup = || -> rusqlite::Result<Connection> {
            let connection = Connection::open(&self.path)?;
            connection.busy_timeout(BUSY_TIMEOUT)?;
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "NORMAL")?;
            connection.pragma_update(None, "foreign_keys", "ON")?;
            Ok(connection)
        };
        let connection = setup().map_err(|source| self.error(source))?;
        Ok(StoreConnection {
            connection,
            path: self.path.clone(),
        })
    }

    fn error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            source,
        }
    }
}

/// One connection to an [`SqliteStore`]; use it from one thread at a time.
#[derive(Debug)]
pub struct StoreConnection {
    pub(crate) connection: Connection,
    path: PathBuf,
}

impl StoreConnection {
    pub(crate) fn error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            source,
        }
    }
}

impl KeyValue for StoreConnection {
    fn get_item(&mut self, scope: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.connection
            .prepare_cached("SELECT value FROM kv WHERE scope = ?1 AND key = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row(params![scope, key], |row| row.get(0))
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn set_item(&mut self, scope: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO kv (scope, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut statement| statement.execute(params![scope, key, value]))
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    fn remove_item(&mut self, scope: &str, key: &str) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM kv WHERE scope = ?1 AND key = ?2")
            .and_then(|mut statement| statement.execute(params![scope, key]))
            .map(|removed| removed > 0)
            .map_err(|source| self.error(source))
    }

    fn clear(&mut self, scope: &str) -> Result<usize, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM kv WHERE scope = ?1")
            .and_then(|mut statement| statement.execute(params![scope]))
            .map_err(|source| self.error(source))
    }
}

impl PersonalKeyValue for StoreConnection {
    fn personal_get(
        &mut self,
        script: &str,
        user: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.connection
            .prepare_cached(
                "SELECT value FROM personal_kv WHERE script = ?1 AND user_id = ?2 AND key = ?3",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![script, user, key], |row| row.get(0))
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn personal_set(
        &mut self,
        script: &str,
        user: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO personal_kv (script, user_id, key, value) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (script, user_id, key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut statement| statement.execute(params![script, user, key, value]))
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    fn personal_remove(&mut self, script: &str, user: &str, key: &str) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached(
                "DELETE FROM personal_kv WHERE script = ?1 AND user_id = ?2 AND key = ?3",
            )
            .and_then(|mut statement| statement.execute(params![script, user, key]))
            .map(|removed| removed > 0)
            .map_err(|source| self.error(source))
    }

    fn personal_clear(&mut self, script: &str, user: &str) -> Result<usize, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM personal_kv WHERE script = ?1 AND user_id = ?2")
            .and_then(|mut statement| statement.execute(params![script, user]))
            .map_err(|source| self.error(source))
    }
}

/// A fresh database in a temporary directory (kept while the directory lives), for tests.
#[cfg(test)]
pub(crate) fn scratch() -> (tempfile::TempDir, StoreConnection) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path()).expect("a fresh database opens");
    let connection = store.connect().expect("a fresh database connects");
    (dir, connection)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}

impl ScriptRepository for StoreConnection {
    fn upsert_script(&mut self, uri: &str, content: &str) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO scripts (uri, content, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (uri) DO UPDATE SET content = excluded.content, updated = excluded.updated",
            )
            .and_then(|mut statement| statement.execute(params![uri, content, unix_now()]))
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    fn delete_script(&mut self, uri: &str) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM scripts WHERE uri = ?1")
            .and_then(|mut statement| statement.execute(params![uri]))
            .map(|removed| removed > 0)
            .map_err(|source| self.error(source))
    }

    fn read_script(&mut self, uri: &str) -> Result<Option<StoredScript>, StoreError> {
        self.connection
            .prepare_cached("SELECT uri, content, updated FROM scripts WHERE uri = ?1")
            .and_then(|mut statement| statement.query_row(params![uri], stored_script).optional())
            .map_err(|source| self.error(source))
    }

    fn list_scripts(&mut self) -> Result<Vec<StoredScript>, StoreError> {
        self.connection
            .prepare_cached("SELECT uri, content, updated FROM scripts ORDER BY uri")
            .and_then(|mut statement| {
                statement
                    .query_map([], stored_script)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(|source| self.error(source))
    }
}

fn stored_script(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredScript> {
    Ok(StoredScript {
        uri: row.get(0)?,
        content: row.get(1)?,
        updated: row.get(2)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("data")).unwrap();
        (dir, store)
    }

    #[test]
    fn items_are_scoped_per_script() {
        let (_dir, store) = store();
        let mut connection = store.connect().unwrap();
        connection.set_item("a.js", "k", "from a").unwrap();
        connection.set_item("b.js", "k", "from b").unwrap();
        assert_eq!(
            connection.get_item("a.js", "k").unwrap().as_deref(),
            Some("from a")
        );
        assert_eq!(
            connection.get_item("b.js", "k").unwrap().as_deref(),
            Some("from b")
        );
        assert_eq!(connection.clear("a.js").unwrap(), 1);
        assert_eq!(connection.get_item("a.js", "k").unwrap(), None);
        assert_eq!(
            connection.get_item("b.js", "k").unwrap().as_deref(),
            Some("from b")
        );
    }

    #[test]
    fn a_database_from_a_newer_ferry_is_refused_with_what_to_do() {
        let (dir, store) = store();
        drop(store);
        let path = dir.path().join("data").join(DATABASE_FILE);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 999)
            .unwrap();
        let error = SqliteStore::open(&dir.path().join("data"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("newer Ferry"), "{error}");
        assert!(error.contains("schema version 999"), "{error}");
        assert!(error.contains("--data-dir"), "{error}");
    }

    #[test]
    fn personal_items_are_kept_per_script_and_user_apart_from_shared_ones() {
        let (_dir, store) = store();
        let mut connection = store.connect().unwrap();
        connection.set_item("a.js", "k", "shared").unwrap();
        connection
            .personal_set("a.js", "ann", "k", "ann's")
            .unwrap();
        connection
            .personal_set("a.js", "bob", "k", "bob's")
            .unwrap();
        connection
            .personal_set("b.js", "ann", "k", "other script")
            .unwrap();
        assert_eq!(
            connection
                .personal_get("a.js", "ann", "k")
                .unwrap()
                .as_deref(),
            Some("ann's")
        );
        assert_eq!(
            connection.get_item("a.js", "k").unwrap().as_deref(),
            Some("shared")
        );
        assert_eq!(connection.personal_clear("a.js", "ann").unwrap(), 1);
        assert_eq!(connection.personal_get("a.js", "ann", "k").unwrap(), None);
        assert!(connection.personal_remove("a.js", "bob", "k").unwrap());
        assert!(!connection.personal_remove("a.js", "bob", "k").unwrap());
        assert_eq!(
            connection
                .personal_get("b.js", "ann", "k")
                .unwrap()
                .as_deref(),
            Some("other script")
        );
    }

    #[test]
    fn set_replaces_and_remove_reports_presence() {
        let (_dir, store) = store();
        let mut connection = store.connect().unwrap();
        connection.set_item("s", "k", "1").unwrap();
        connection.set_item("s", "k", "2").unwrap();
        assert_eq!(connection.get_item("s", "k").unwrap().as_deref(), Some("2"));
        assert!(connection.remove_item("s", "k").unwrap());
        assert!(!connection.remove_item("s", "k").unwrap());
    }

    #[test]
    fn data_survives_reopening_and_is_shared_between_connections() {
        let (dir, store) = store();
        store.connect().unwrap().set_item("s", "k", "kept").unwrap();
        let other = store.connect().unwrap().get_item("s", "k").unwrap();
        assert_eq!(other.as_deref(), Some("kept"));
        drop(store);
        let reopened = SqliteStore::open(&dir.path().join("data")).unwrap();
        let value = reopened.connect().unwrap().get_item("s", "k").unwrap();
        assert_eq!(value.as_deref(), Some("kept"));
    }

    #[test]
    fn scripts_round_trip_in_name_order() {
        let (_dir, store) = store();
        let mut connection = store.connect().unwrap();
        connection.upsert_script("b.js", "two").unwrap();
        connection.upsert_script("a.js", "one").unwrap();
        connection.upsert_script("b.js", "two, again").unwrap();
        let names: Vec<String> = connection
            .list_scripts()
            .unwrap()
            .into_iter()
            .map(|script| script.uri)
            .collect();
        assert_eq!(names, ["a.js", "b.js"]);
        let b = connection.read_script("b.js").unwrap().unwrap();
        assert_eq!(b.content, "two, again");
        assert!(connection.delete_script("a.js").unwrap());
        assert!(connection.read_script("a.js").unwrap().is_none());
    }

    #[test]
    fn the_database_files_are_named_for_what_sqlite_writes() {
        let (_dir, store) = store();
        let files = store.files();
        assert_eq!(files[0], store.path());
        assert!(files[0].exists());
        assert!(files[1].to_string_lossy().ends_with("ferry.db-wal"));
        assert!(files[2].to_string_lossy().ends_with("ferry.db-shm"));
    }

    #[test]
    fn unwritable_data_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, "not a directory").unwrap();
        let error = SqliteStore::open(&file.join("data")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("cannot create the data directory")
        );
    }
}
