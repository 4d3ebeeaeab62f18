//! [`SecretStore`] on PostgreSQL.

use super::{PostgresConnection, count};
use crate::clock::unix_now;
use crate::{SecretStore, StoreError};

impl SecretStore for PostgresConnection {
    fn secret_exists(&mut self, script: &str, name: &str) -> Result<bool, StoreError> {
        self.sealed_secret(script, name)
            .map(|found| found.is_some())
    }

    fn put_secret(&mut self, script: &str, name: &str, sealed: &[u8]) -> Result<(), StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "INSERT INTO secrets (script, name, sealed, updated) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (script, name) DO UPDATE SET sealed = excluded.sealed, updated = excluded.updated",
                )
                .await?;
            client
                .execute(&statement, &[&script, &name, &sealed, &unix_now()])
                .await?;
            Ok(())
        })
    }

    fn sealed_secret(&mut self, script: &str, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("SELECT sealed FROM secrets WHERE script = $1 AND name = $2")
                .await?;
            client
                .query_opt(&statement, &[&script, &name])
                .await?
                .map(|row| row.try_get(0))
                .transpose()
        })
    }

    fn remove_secret(&mut self, script: &str, name: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM secrets WHERE script = $1 AND name = $2")
                .await?;
            Ok(client.execute(&statement, &[&script, &name]).await? > 0)
        })
    }

    fn clear_secrets(&mut self, script: &str) -> Result<usize, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM secrets WHERE script = $1")
                .await?;
            Ok(count(client.execute(&statement, &[&script]).await?))
        })
    }
}
