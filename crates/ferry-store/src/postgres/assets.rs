//! [`AssetStore`] on PostgreSQL.

use super::PostgresConnection;
use crate::assets::{INFO_COLUMNS, sha256_hex};
use crate::clock::unix_now;
use crate::{Asset, AssetInfo, AssetStore, StoreError};

fn info(row: &tokio_postgres::Row) -> Result<AssetInfo, tokio_postgres::Error> {
    Ok(AssetInfo {
        name: row.try_get(0)?,
        mimetype: row.try_get(1)?,
        size: u64::try_from(row.try_get::<_, i64>(2)?).unwrap_or(0),
        sha256: row.try_get(3)?,
        created: row.try_get(4)?,
        updated: row.try_get(5)?,
    })
}

impl AssetStore for PostgresConnection {
    fn list_assets(&mut self, script: &str) -> Result<Vec<AssetInfo>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {INFO_COLUMNS} FROM assets WHERE script = $1 ORDER BY name"
                ))
                .await?;
            client
                .query(&statement, &[&script])
                .await?
                .iter()
                .map(info)
                .collect()
        })
    }

    fn asset(&mut self, script: &str, name: &str) -> Result<Option<Asset>, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached(&format!(
                    "SELECT {INFO_COLUMNS}, content FROM assets WHERE script = $1 AND name = $2"
                ))
                .await?;
            client
                .query_opt(&statement, &[&script, &name])
                .await?
                .map(|row| {
                    Ok(Asset {
                        info: info(&row)?,
                        content: row.try_get(6)?,
                    })
                })
                .transpose()
        })
    }

    fn upsert_asset(
        &mut self,
        script: &str,
        name: &str,
        mimetype: &str,
        content: &[u8],
    ) -> Result<AssetInfo, StoreError> {
        let sha256 = sha256_hex(content);
        let size = i64::try_from(content.len()).unwrap_or(i64::MAX);
        let now = unix_now();
        self.with(async |client| {
            let statement = client
                .prepare_cached(&format!(
                    "INSERT INTO assets (script, name, mimetype, content, sha256, size, created, updated)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
                     ON CONFLICT (script, name) DO UPDATE SET mimetype = excluded.mimetype,
                         content = excluded.content, sha256 = excluded.sha256, size = excluded.size,
                         updated = excluded.updated
                     RETURNING {INFO_COLUMNS}"
                ))
                .await?;
            let row = client
                .query_one(
                    &statement,
                    &[&script, &name, &mimetype, &content, &sha256, &size, &now],
                )
                .await?;
            info(&row)
        })
    }

    fn delete_asset(&mut self, script: &str, name: &str) -> Result<bool, StoreError> {
        self.with(async |client| {
            let statement = client
                .prepare_cached("DELETE FROM assets WHERE script = $1 AND name = $2")
                .await?;
            Ok(client.execute(&statement, &[&script, &name]).await? > 0)
        })
    }
}
