//! [`KeyValue`], [`PersonalKeyValue`] and [`ScriptRepository`] on PostgreSQL.

use tokio_postgres::Row;

use super::nodes::CHANNEL;
use super::{PostgresConnection, count};
use crate::{KeyValue, PersonalKeyValue, ScriptRepository, StoreError, StoredScript};

impl KeyValue for PostgresConnection {
    fn get_item(&mut self, scope: &str, key: &str) -> Result<Option<String>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("SELECT value FROM kv WHERE scope = $1 AND key = $2")
                .await?;
            client
                .query_opt(&statement, &[&scope, &key])
                .await?
                .map(|row| row.try_get(0))
                .transpose()
        })
    }

    fn set_item(&mut self, scope: &str, key: &str, value: &str) -> Result<(), StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "INSERT INTO kv (scope, key, value) VALUES ($1, $2, $3)
                     ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value",
                )
                .await?;
            client.execute(&statement, &[&scope, &key, &value]).await?;
            Ok(())
        })
    }

    fn remove_item(&mut self, scope: &str, key: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM kv WHERE scope = $1 AND key = $2")
                .await?;
            Ok(client.execute(&statement, &[&scope, &key]).await? > 0)
        })
    }

    fn clear(&mut self, scope: &str) -> Result<usize, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM kv WHERE scope = $1")
                .await?;
            Ok(count(client.execute(&statement, &[&scope]).await?))
        })
    }
}

impl PersonalKeyValue for PostgresConnection {
    fn personal_get(
        &mut self,
        script: &str,
        user: &str,
        key: &str,
    ) -> Result<Option<String>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "SELECT value FROM personal_kv WHERE script = $1 AND user_id = $2 AND key = $3",
                )
                .await?;
            client
                .query_opt(&statement, &[&script, &user, &key])
                .await?
                .map(|row| row.try_get(0))
                .transpose()
        })
    }

    fn personal_set(
        &mut self,
        script: &str,
        user: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "INSERT INTO personal_kv (script, user_id, key, value) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (script, user_id, key) DO UPDATE SET value = excluded.value",
                )
                .await?;
            client
                .execute(&statement, &[&script, &user, &key, &value])
                .await?;
            Ok(())
        })
    }

    fn personal_remove(&mut self, script: &str, user: &str, key: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "DELETE FROM personal_kv WHERE script = $1 AND user_id = $2 AND key = $3",
                )
                .await?;
            Ok(client.execute(&statement, &[&script, &user, &key]).await? > 0)
        })
    }

    fn personal_clear(&mut self, script: &str, user: &str) -> Result<usize, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM personal_kv WHERE script = $1 AND user_id = $2")
                .await?;
            Ok(count(client.execute(&statement, &[&script, &user]).await?))
        })
    }
}

impl ScriptRepository for PostgresConnection {
    fn upsert_script(&mut self, uri: &str, content: &str) -> Result<(), StoreError> {
        let now = crate::clock::unix_now();
        let announcement = self.store.shared.nodes.script_changed(uri);
        self.with(async |client| {
            // The other nodes hear of it when it is committed, not before.
            let transaction = client.transaction().await?;
            transaction
                .execute(
                    "INSERT INTO scripts (uri, content, updated) VALUES ($1, $2, $3)
                     ON CONFLICT (uri) DO UPDATE SET content = excluded.content, updated = excluded.updated",
                    &[&uri, &content, &now],
                )
                .await?;
            transaction
                .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &announcement])
                .await?;
            transaction.commit().await
        })
    }

    fn delete_script(&mut self, uri: &str) -> Result<bool, StoreError> {
        let announcement = self.store.shared.nodes.script_changed(uri);
        self.with(async |client| {
            let transaction = client.transaction().await?;
            let deleted = transaction
                .execute("DELETE FROM scripts WHERE uri = $1", &[&uri])
                .await?;
            if deleted > 0 {
                transaction
                    .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &announcement])
                    .await?;
            }
            transaction.commit().await?;
            Ok(deleted > 0)
        })
    }

    fn read_script(&mut self, uri: &str) -> Result<Option<StoredScript>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("SELECT uri, content, updated FROM scripts WHERE uri = $1")
                .await?;
            client
                .query_opt(&statement, &[&uri])
                .await?
                .map(|row| stored_script(&row))
                .transpose()
        })
    }

    fn list_scripts(&mut self) -> Result<Vec<StoredScript>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(
                    "SELECT uri, content, updated FROM scripts ORDER BY uri COLLATE \"C\"",
                )
                .await?;
            client
                .query(&statement, &[])
                .await?
                .iter()
                .map(stored_script)
                .collect()
        })
    }
}

fn stored_script(row: &Row) -> Result<StoredScript, tokio_postgres::Error> {
    Ok(StoredScript {
        uri: row.try_get(0)?,
        content: row.try_get(1)?,
        updated: row.try_get(2)?,
    })
}
