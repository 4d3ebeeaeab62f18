//! [`SecretStore`] on SQLite.

use rusqlite::{OptionalExtension, params};

use crate::clock::unix_now;
use crate::{SecretStore, SqliteConnection, StoreError};

impl SecretStore for SqliteConnection {
    fn secret_exists(&mut self, script: &str, name: &str) -> Result<bool, StoreError> {
        self.sealed_secret(script, name)
            .map(|found| found.is_some())
    }

    fn put_secret(&mut self, script: &str, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        self.connection
            .prepare_cached(
                "INSERT INTO secrets (script, name, sealed, updated) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (script, name) DO UPDATE SET sealed = excluded.sealed, updated = excluded.updated",
            )
            .and_then(|mut statement| statement.execute(params![script, name, sealed, unix_now()]))
            .map(|_| ())
            .map_err(|source| self.error(source))
    }

    fn sealed_secret(&mut self, script: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.connection
            .prepare_cached("SELECT sealed FROM secrets WHERE script = ?1 AND name = ?2")
            .and_then(|mut statement| {
                statement
                    .query_row(params![script, name], |row| row.get(0))
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn remove_secret(&mut self, script: &str, name: &str) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM secrets WHERE script = ?1 AND name = ?2")
            .and_then(|mut statement| statement.execute(params![script, name]))
            .map(|removed| removed > 0)
            .map_err(|source| self.error(source))
    }

    fn clear_secrets(&mut self, script: &str) -> Result<usize, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM secrets WHERE script = ?1")
            .and_then(|mut statement| statement.execute(params![script]))
            .map_err(|source| self.error(source))
    }
}
