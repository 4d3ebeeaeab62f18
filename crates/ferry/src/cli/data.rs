//! Where Ferry keeps its data: the data directory (SQLite) or a PostgreSQL database.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ferry_store::{PostgresOptions, Store};

/// Where the data lives: scripts' storage, uploaded scripts, users, sessions and groups.
#[derive(Debug, Clone, Args)]
pub(crate) struct DataArgs {
    /// Where Ferry keeps its data (what scripts store, uploaded scripts, users and
    /// sessions), in an SQLite database, unless --database-url names a PostgreSQL one.
    #[arg(long, default_value = ".ferry", value_name = "DIR")]
    pub data_dir: PathBuf,

    /// Keep the data in PostgreSQL instead, shared by every Ferry node given the same URL:
    /// postgres://USER:PASSWORD@HOST:PORT/DATABASE (libpq's form; sslmode and sslrootcert
    /// are understood). FERRY_DATABASE_URL keeps the password out of shell history.
    #[arg(
        long,
        env = "FERRY_DATABASE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub database_url: Option<String>,

    /// The most connections to PostgreSQL this node opens.
    #[arg(long, default_value_t = 16, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub database_pool: u16,
}

impl DataArgs {
    /// Opens the database these flags name and brings its schema up to date; blocks until
    /// done.
    pub(crate) fn open(&self) -> anyhow::Result<Store> {
        let store = match &self.database_url {
            Some(url) => Store::postgres(&PostgresOptions {
                pool_size: usize::from(self.database_pool),
                ..PostgresOptions::new(url.clone())
            })
            .context("cannot open the database of --database-url")?,
            None => Store::sqlite(&self.data_dir).with_context(|| {
                format!(
                    "cannot open the database in --data-dir {}",
                    self.data_dir.display()
                )
            })?,
        };
        tracing::debug!(database = %store.describe(), "data store open");
        Ok(store)
    }
}
