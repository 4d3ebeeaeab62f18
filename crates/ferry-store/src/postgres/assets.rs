//! [`AssetStore`] on PostgreSQL.

use super::PostgresConnection;
use crate::assets::{INFO_COLUMNS, NewAsset, sha256_hex};
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
        let asset = NewAsset {
            name,
            mimetype,
            content,
        };
        let now = unix_now();
        self.with(async |client| upsert(&*client, script, &asset, now).await)
    }

    fn upsert_assets(
        &mut self,
        script: &str,
        assets: &[NewAsset<'_>],
    ) -> Result<Vec<AssetInfo>, StoreError> {
        let now = unix_now();
        self.with(async |client| {
            let transaction = client.transaction().await?;
            let mut stored = Vec::with_capacity(assets.len());
            for asset in assets {
                stored.push(upsert(&transaction, script, asset, now).await?);
            }
            transaction.commit().await?;
            Ok(stored)
        })
    }

    fn replace_asset_if(
        &mut self,
        script: &str,
        name: &str,
        expected: &str,
        content: &[u8],
    ) -> Result<Option<AssetInfo>, StoreError> {
        let sha256 = sha256_hex(content);
        let size = i64::try_from(content.len()).unwrap_or(i64::MAX);
        let now = unix_now();
        self.with(async |client| {
            let statement = client
                .prepare_cached(&format!(
                    "UPDATE assets SET content = $4, sha256 = $5, size = $6, updated = $7
                     WHERE script = $1 AND name = $2 AND sha256 = $3
                     RETURNING {INFO_COLUMNS}"
                ))
                .await?;
            client
                .query_opt(
                    &statement,
                    &[&script, &name, &expected, &content, &sha256, &size, &now],
                )
                .await?
                .map(|row| info(&row))
                .transpose()
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

/// Stores (or replaces) `asset` through `client` (or a transaction on it).
async fn upsert(
    client: &impl deadpool_postgres::GenericClient,
    script: &str,
    asset: &NewAsset<'_>,
    now: i64,
) -> Result<AssetInfo, tokio_postgres::Error> {
    let sha256 = sha256_hex(asset.content);
    let size = i64::try_from(asset.content.len()).unwrap_or(i64::MAX);
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
            &[
                &script,
                &asset.name,
                &asset.mimetype,
                &asset.content,
                &sha256,
                &size,
                &now,
            ],
        )
        .await?;
    info(&row)
}
