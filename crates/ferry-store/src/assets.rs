//! Scripts' assets (`assetStorage`): named files a script keeps — images, styles, data —
//! with their media type and a SHA-256 of their content, per script.

use crate::StoreError;

/// What is known of an asset without its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetInfo {
    /// Its name, unique per script (may hold `/`: `css/site.css`).
    pub name: String,
    /// Its media type (`image/png`).
    pub mimetype: String,
    /// Its length in bytes.
    pub size: u64,
    /// The SHA-256 of its content, in lower-case hex.
    pub sha256: String,
    /// When it was first stored (seconds since the Unix epoch).
    pub created: i64,
    /// When it last changed.
    pub updated: i64,
}

/// An asset and its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asset {
    /// What is known of it.
    pub info: AssetInfo,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// One asset to store.
#[derive(Debug, Clone, Copy)]
pub struct NewAsset<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its media type.
    pub mimetype: &'a str,
    /// Its bytes.
    pub content: &'a [u8],
}

/// Where scripts' assets are kept.
pub trait AssetStore {
    /// The assets of `script`, by name.
    fn list_assets(&mut self, script: &str) -> Result<Vec<AssetInfo>, StoreError>;
    /// `script`'s asset `name`, with its content.
    fn asset(&mut self, script: &str, name: &str) -> Result<Option<Asset>, StoreError>;
    /// Stores (or replaces) `script`'s asset `name`; returns what is known of it now.
    fn upsert_asset(
        &mut self,
        script: &str,
        name: &str,
        mimetype: &str,
        content: &[u8],
    ) -> Result<AssetInfo, StoreError>;
    /// Stores (or replaces) every asset of `assets` for `script` in one transaction: all
    /// of them or, on an error, none. Returns what is known of each, in order.
    fn upsert_assets(
        &mut self,
        script: &str,
        assets: &[NewAsset<'_>],
    ) -> Result<Vec<AssetInfo>, StoreError>;
    /// Replaces the content of `script`'s asset `name` only if its SHA-256 is still
    /// `expected` (a compare-and-swap against edits made since it was read). `None` when
    /// it is not, or the asset is gone.
    fn replace_asset_if(
        &mut self,
        script: &str,
        name: &str,
        expected: &str,
        content: &[u8],
    ) -> Result<Option<AssetInfo>, StoreError>;
    /// Removes `script`'s asset `name`; whether it was there.
    fn delete_asset(&mut self, script: &str, name: &str) -> Result<bool, StoreError>;
}

/// The assets table's SQL; `CONTENT` is the back end's bytes type.
macro_rules! assets_schema {
    ($content:literal) => {
        concat!(
            "
CREATE TABLE assets (
    script   TEXT NOT NULL,
    name     TEXT NOT NULL,
    mimetype TEXT NOT NULL,
    content  ",
            $content,
            " NOT NULL,
    sha256   TEXT NOT NULL,
    size     BIGINT NOT NULL,
    created  BIGINT NOT NULL,
    updated  BIGINT NOT NULL,
    PRIMARY KEY (script, name)
);
"
        )
    };
}

/// The assets table on SQLite.
pub(crate) const SQLITE_SCHEMA: &str = assets_schema!("BLOB");

/// The columns of [`AssetInfo`], in its order.
pub(crate) const INFO_COLUMNS: &str = "name, mimetype, size, sha256, created, updated";

/// The SHA-256 of `content` in lower-case hex.
pub fn sha256_hex(content: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, content)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
