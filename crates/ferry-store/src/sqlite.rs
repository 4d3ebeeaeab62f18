//! The embedded SQLite back end.

use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// An SQLite database in a data directory; open a [`SqliteConnection`] per thread with
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
                    database: store.path.display().to_string(),
                    found,
                    supported: crate::sqlite_migrations::latest(),
                    elsewhere: "another --data-dir",
                },
                MigrationError::Failed { name, source } => StoreError::Migration {
                    database: store.path.display().to_string(),
                    name,
                    source: Box::new(source),
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
    pub fn connect(&self) -> Result<SqliteConnection, StoreError> {
        let setup = || -> rusqlite::Result<Connection> {
            let connection = Connection::open(&self.path)?;
            connection.busy_timeout(BUSY_TIMEOUT)?;
            connection.pragma_update(None, "journal_mode", "WAL")?;
            connection.pragma_update(None, "synchronous", "NORMAL")?;
            connection.pragma_update(None, "foreign_keys", "ON")?;
            Ok(connection)
        };
        let connection = setup().map_err(|source| self.error(source))?;
        Ok(SqliteConnection {
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
pub struct SqliteConnection {
    pub(crate) connection: Connection,
    path: PathBuf,
}

impl SqliteConnection {
    /// Reads from the database once.
    pub fn ping(&mut self) -> Result<(), StoreError> {
        self.connection
            .query_row("SELECT 1", [], |_| Ok(()))
            .map_err(|source| self.error(source))
    }

    pub(crate) fn error(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database {
            path: self.path.clone(),
            source,
        }
    }
}

impl KeyValue for SqliteConnection {
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

impl PersonalKeyValue for SqliteConnection {
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

impl ScriptRepository for SqliteConnection {
    fn upsert_script(&mut self, uri: &str, content: &str) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO scripts (uri, content, updated) VALUES (?1, ?2, ?3)
                 ON CONFLICT (uri) DO UPDATE SET content = excluded.content, updated = excluded.updated",
            )
            .and_then(|mut statement| statement.execute(params![uri, content, crate::clock::unix_now()]))
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
