//! [`AssetStore`] on SQLite.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::assets::{INFO_COLUMNS, NewAsset, sha256_hex};
use crate::clock::unix_now;
use crate::{Asset, AssetInfo, AssetStore, SqliteConnection, StoreError};

fn info(row: &rusqlite::Row<'_>) -> rusqlite::Result<AssetInfo> {
    Ok(AssetInfo {
        name: row.get(0)?,
        mimetype: row.get(1)?,
        size: u64::try_from(row.get::<_, i64>(2)?).unwrap_or(0),
        sha256: row.get(3)?,
        created: row.get(4)?,
        updated: row.get(5)?,
    })
}

impl AssetStore for SqliteConnection {
    fn list_assets(&mut self, script: &str) -> Result<Vec<AssetInfo>, StoreError> {
        self.connection
            .prepare_cached(&format!(
                "SELECT {INFO_COLUMNS} FROM assets WHERE script = ?1 ORDER BY name"
            ))
            .and_then(|mut statement| statement.query_map(params![script], info)?.collect())
            .map_err(|source| self.error(source))
    }

    fn asset(&mut self, script: &str, name: &str) -> Result<Option<Asset>, StoreError> {
        self.connection
            .prepare_cached(&format!(
                "SELECT {INFO_COLUMNS}, content FROM assets WHERE script = ?1 AND name = ?2"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row(params![script, name], |row| {
                        Ok(Asset {
                            info: info(row)?,
                            content: row.get(6)?,
                        })
                    })
                    .optional()
            })
            .map_err(|source| self.error(source))
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
        upsert(&self.connection, script, &asset, unix_now()).map_err(|source| self.error(source))
    }

    fn upsert_assets(
        &mut self,
        script: &str,
        assets: &[NewAsset<'_>],
    ) -> Result<Vec<AssetInfo>, StoreError> {
        let now = unix_now();
        let run = |connection: &mut Connection| -> rusqlite::Result<Vec<AssetInfo>> {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let stored = assets
                .iter()
                .map(|asset| upsert(&transaction, script, asset, now))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            transaction.commit()?;
            Ok(stored)
        };
        run(&mut self.connection).map_err(|source| self.error(source))
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
        self.connection
            .prepare_cached(&format!(
                "UPDATE assets SET content = ?4, sha256 = ?5, size = ?6, updated = ?7
                 WHERE script = ?1 AND name = ?2 AND sha256 = ?3
                 RETURNING {INFO_COLUMNS}"
            ))
            .and_then(|mut statement| {
                statement
                    .query_row(
                        params![script, name, expected, content, sha256, size, unix_now()],
                        info,
                    )
                    .optional()
            })
            .map_err(|source| self.error(source))
    }

    fn delete_asset(&mut self, script: &str, name: &str) -> Result<bool, StoreError> {
        self.connection
            .prepare_cached("DELETE FROM assets WHERE script = ?1 AND name = ?2")
            .and_then(|mut statement| statement.execute(params![script, name]))
            .map(|removed| removed > 0)
            .map_err(|source| self.error(source))
    }
}

/// Stores (or replaces) `asset` through `connection` (or a transaction on it).
fn upsert(
    connection: &Connection,
    script: &str,
    asset: &NewAsset<'_>,
    now: i64,
) -> rusqlite::Result<AssetInfo> {
    let sha256 = sha256_hex(asset.content);
    let size = i64::try_from(asset.content.len()).unwrap_or(i64::MAX);
    connection
        .prepare_cached(&format!(
            "INSERT INTO assets (script, name, mimetype, content, sha256, size, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
             ON CONFLICT (script, name) DO UPDATE SET mimetype = excluded.mimetype,
                 content = excluded.content, sha256 = excluded.sha256, size = excluded.size,
                 updated = excluded.updated
             RETURNING {INFO_COLUMNS}"
        ))?
        .query_row(
            params![
                script,
                asset.name,
                asset.mimetype,
                asset.content,
                sha256,
                size,
                now
            ],
            info,
        )
}
