//! The embedded database's schema, as numbered migrations run at start-up. The version a
//! database is at is SQLite's `user_version`; a database a newer Ferry wrote (a version this
//! build does not know) is refused rather than misread.
//!
//! Migration 1 is the schema as it stood when versioning began, written to be applied over
//! a database from before (every statement `IF NOT EXISTS`, and the script owners of that
//! time carried over). Later migrations are plain: each runs once, in its own transaction.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

/// One step of the schema.
pub(crate) struct Migration {
    /// The version the database is at once it ran.
    pub version: u32,
    /// What it does, for errors.
    pub name: &'static str,
    /// Its statements.
    pub apply: fn(&Connection) -> rusqlite::Result<()>,
}

/// Every migration, in order; the last one's version is the schema this build writes.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "key-value data, scripts, users, sessions, tokens, groups, script access, OAuth",
        apply: baseline,
    },
    Migration {
        version: 2,
        name: "refresh-token families, for reuse detection",
        apply: |connection| connection.execute_batch(crate::sqlite_oauth::FAMILIES),
    },
    Migration {
        version: 3,
        // Only PostgreSQL has other nodes; the number stays in step.
        name: "nodes and the messages too large to notify (nothing to do on one node)",
        apply: |_| Ok(()),
    },
    Migration {
        version: 4,
        name: "scripts' secrets and scheduled jobs",
        apply: |connection| {
            connection.execute_batch(crate::secrets::SQLITE_SCHEMA)?;
            connection.execute_batch(crate::jobs::SCHEMA)
        },
    },
    Migration {
        version: 5,
        name: "scripts' assets",
        apply: |connection| connection.execute_batch(crate::assets::SQLITE_SCHEMA),
    },
];

/// The schema version this build writes.
pub(crate) fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |migration| migration.version)
}

/// Why the schema could not be brought up to date.
#[derive(Debug)]
pub(crate) enum MigrationError {
    /// The database is at a version this build does not know.
    TooNew { found: u32 },
    /// A migration (or reading the version) failed.
    Failed {
        name: &'static str,
        source: rusqlite::Error,
    },
}

/// Brings `connection`'s database up to [`latest`], one migration per transaction.
pub(crate) fn migrate(connection: &mut Connection) -> Result<(), MigrationError> {
    let failed = |name| move |source| MigrationError::Failed { name, source };
    let found: u32 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(failed("reading the schema version"))?;
    if found > latest() {
        return Err(MigrationError::TooNew { found });
    }
    for migration in MIGRATIONS
        .iter()
        .filter(|migration| migration.version > found)
    {
        let run = |connection: &mut Connection| -> rusqlite::Result<()> {
            let transaction =
                connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Another process may have migrated while this one waited for the lock.
            let now: u32 =
                transaction.pragma_query_value(None, "user_version", |row| row.get(0))?;
            if now < migration.version {
                (migration.apply)(&transaction)?;
                transaction.pragma_update(None, "user_version", migration.version)?;
            }
            transaction.commit()
        };
        run(connection).map_err(failed(migration.name))?;
    }
    Ok(())
}

/// Migration 1: the schema of every table, then the owners kept by the first builds with
/// sign-in (users only, in `script_owners`) moved into `script_access`.
fn baseline(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(crate::sqlite::SCHEMA)?;
    connection.execute_batch(crate::sqlite_identity::SCHEMA)?;
    connection.execute_batch(crate::sqlite_groups::SCHEMA)?;
    connection.execute_batch(crate::sqlite_oauth::SCHEMA)?;
    let old: Option<String> = connection
        .query_row(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'script_owners'",
            [],
            |row| row.get(0),
        )
        .optional()?;
    if old.is_some() {
        connection.execute_batch(
            "INSERT OR IGNORE INTO script_access (script_uri, level, member_kind, member, added)
                 SELECT script_uri, 'owner', 'user', user_id, added FROM script_owners;
             DROP TABLE script_owners;",
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &std::path::Path) -> Connection {
        Connection::open(dir.join("ferry.db")).unwrap()
    }

    fn version(connection: &Connection) -> u32 {
        connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_database_gets_every_migration_and_a_second_run_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut connection = open(dir.path());
        migrate(&mut connection).unwrap();
        assert_eq!(version(&connection), latest());
        migrate(&mut connection).unwrap();
        assert_eq!(version(&connection), latest());
    }

    #[test]
    fn a_version_1_database_is_brought_up_to_date_keeping_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let mut connection = open(dir.path());
        baseline(&connection).unwrap();
        connection.pragma_update(None, "user_version", 1).unwrap();
        connection
            .execute(
                "INSERT INTO kv (scope, key, value) VALUES ('a.js', 'k', 'v')",
                [],
            )
            .unwrap();
        migrate(&mut connection).unwrap();
        assert_eq!(version(&connection), latest());
        let value: String = connection
            .query_row("SELECT value FROM kv", [], |row| row.get(0))
            .unwrap();
        assert_eq!(value, "v");
        let families: u32 = connection
            .query_row(
                "SELECT count(family) + count(used) FROM oauth_tokens",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(families, 0, "the new columns exist");
    }

    #[test]
    fn a_database_from_a_newer_ferry_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let mut connection = open(dir.path());
        connection
            .pragma_update(None, "user_version", latest() + 1)
            .unwrap();
        match migrate(&mut connection) {
            Err(MigrationError::TooNew { found }) => assert_eq!(found, latest() + 1),
            other => panic!("expected TooNew, got {other:?}"),
        }
        let tables: u32 = connection
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .unwrap();
        assert_eq!(tables, 0, "nothing was written");
    }
}
