//! SQL for scripts: every script has a database of its own — a SQLite file beside the
//! store's on the embedded back end, a schema of its own on PostgreSQL — which it reaches
//! through statements the [`guard`] checked, with bound values, a statement timeout, caps
//! on what a query may return and a storage quota.
//!
//! ```
//! use ferry_store::{SqlLimits, SqlStatement, SqlValue, Store};
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = Store::sqlite(dir.path())?;
//! let mut notes = store.script_database("notes.js", SqlLimits::default())?;
//! let timeout = Duration::from_secs(1);
//! notes.run(&[SqlStatement::new("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT)", vec![])], timeout)?;
//! notes.run(&[SqlStatement::new("INSERT INTO notes (title) VALUES (?)", vec![SqlValue::Text("hello".into())])], timeout)?;
//! let read = notes.run(&[SqlStatement::new("SELECT title FROM notes", vec![])], timeout)?;
//! assert_eq!(read[0].rows, vec![vec![SqlValue::Text("hello".into())]]);
//! # Ok(())
//! # }
//! ```

pub mod guard;
mod postgres;
mod sqlite;
mod value;

use std::time::Duration;

pub use guard::SqlDialect;
pub use postgres::DetachedRun;
pub use value::{SqlOutcome, SqlValue};

use crate::StoreError;

/// What a script's database may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqlLimits {
    /// The most rows one statement may return.
    pub max_rows: usize,
    /// The most bytes (of values, as JSON) one statement may return.
    pub max_bytes: usize,
    /// The most bytes the script's tables and indexes may take; statements that could
    /// grow them are refused past it (deleting and dropping still work).
    pub quota_bytes: u64,
}

impl Default for SqlLimits {
    fn default() -> Self {
        SqlLimits {
            max_rows: 50_000,
            max_bytes: 16 * 1024 * 1024,
            quota_bytes: 512 * 1024 * 1024,
        }
    }
}

/// One statement and the values bound to its placeholders.
#[derive(Debug, Clone, PartialEq)]
pub struct SqlStatement {
    /// The SQL, with `?`, `?N` or `$N` placeholders.
    pub sql: String,
    /// The values, in placeholder order.
    pub params: Vec<SqlValue>,
}

impl SqlStatement {
    /// `sql` with `params` bound.
    pub fn new(sql: impl Into<String>, params: Vec<SqlValue>) -> Self {
        SqlStatement {
            sql: sql.into(),
            params,
        }
    }
}

/// Why a script's statement did not run (or ran and was undone).
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The guard refused the statement before the database saw it.
    #[error("{0}")]
    Refused(String),
    /// The database rejected the statement (syntax, a constraint, a missing table, ...).
    #[error("{0}")]
    Rejected(String),
    /// The statement ran past its time.
    #[error("the statement ran past its time limit of {} ms and was stopped", .0.as_millis())]
    Timeout(Duration),
    /// The result would hold more rows than allowed.
    #[error("the query returns more than {0} rows; add a LIMIT (or page with WHERE id > ?)")]
    TooManyRows(usize),
    /// The result would be larger than allowed.
    #[error("the query returns more than {0} bytes; select fewer columns or rows")]
    TooLarge(usize),
    /// The script's storage quota is used up.
    #[error(
        "the storage quota of this script's database ({} MiB) is used up; delete rows or drop tables to make room",
        .0 / (1024 * 1024)
    )]
    Quota(u64),
    /// Another transaction holds the database (SQLite) for longer than the wait allowed.
    #[error("the database is busy with another transaction; try again")]
    Busy,
    /// The arguments do not fit the statement (for example the number of values).
    #[error("{0}")]
    Arguments(String),
    /// The store failed (unreachable database, file error).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl SqlError {
    /// Whether trying again later may work (the database is unreachable or busy).
    pub fn is_unavailable(&self) -> bool {
        match self {
            SqlError::Store(error) => error.is_unavailable(),
            SqlError::Busy => true,
            _ => false,
        }
    }
}

/// One script's database, for one thread: statements run in transactions of their own
/// ([`ScriptDatabase::run`]) or in one the caller holds ([`ScriptDatabase::begin`]).
#[derive(Debug)]
pub enum ScriptDatabase {
    /// A SQLite file of the script's own.
    Sqlite(sqlite::ScriptFile),
    /// A PostgreSQL schema of the script's own.
    Postgres(postgres::ScriptSchema),
}

impl ScriptDatabase {
    /// The back end's SQL dialect.
    pub fn dialect(&self) -> SqlDialect {
        match self {
            ScriptDatabase::Sqlite(_) => SqlDialect::Sqlite,
            ScriptDatabase::Postgres(_) => SqlDialect::Postgres,
        }
    }

    /// Runs `statements` in one transaction (all or nothing), each within `timeout`.
    pub fn run(
        &mut self,
        statements: &[SqlStatement],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        match self {
            ScriptDatabase::Sqlite(file) => file.run(statements, timeout),
            ScriptDatabase::Postgres(schema) => schema.run(statements, timeout),
        }
    }

    /// `statements` checked now, to run on another thread, when that is where running them
    /// belongs: on PostgreSQL, where the run waits on the network (the caller's thread
    /// does other work meanwhile). `None` on SQLite, where running them at once is
    /// cheaper than handing them over.
    pub fn detach(
        &mut self,
        statements: Vec<SqlStatement>,
        timeout: Duration,
    ) -> Result<Option<DetachedRun>, SqlError> {
        match self {
            ScriptDatabase::Sqlite(_) => Ok(None),
            ScriptDatabase::Postgres(schema) => schema.detach(statements, timeout).map(Some),
        }
    }

    /// Runs each statement of `sql` (no values bound) in one transaction: for setting up
    /// tables (`db.exec`).
    pub fn exec(&mut self, sql: &str, timeout: Duration) -> Result<usize, SqlError> {
        let statements = unbound_statements(self.dialect(), sql)?;
        let count = statements.len();
        self.run(&statements, timeout)?;
        Ok(count)
    }

    /// The columns of the script's table `table`: each name and its kind (`integer`,
    /// `float`, `boolean` or `text`), in order; empty when there is no such table.
    pub fn columns(&mut self, table: &str) -> Result<Vec<(String, &'static str)>, SqlError> {
        let declared = match self {
            ScriptDatabase::Sqlite(file) => file.columns(table)?,
            ScriptDatabase::Postgres(schema) => schema.columns(table)?,
        };
        Ok(declared
            .into_iter()
            .map(|(name, declared)| (name, kind_of(&declared)))
            .collect())
    }

    /// Begins a transaction held until [`SqlTransaction::commit`] or
    /// [`SqlTransaction::rollback`] (dropping it rolls back). `wait` bounds the wait for
    /// the database (SQLite's write lock, a pooled PostgreSQL connection).
    pub fn begin(&mut self, wait: Duration) -> Result<SqlTransaction, SqlError> {
        Ok(match self {
            ScriptDatabase::Sqlite(file) => SqlTransaction::Sqlite(file.begin(wait)?),
            ScriptDatabase::Postgres(schema) => SqlTransaction::Postgres(schema.begin(wait)?),
        })
    }
}

/// A transaction on a script's database. Dropped without a commit, it rolls back.
#[derive(Debug)]
pub enum SqlTransaction {
    /// On a SQLite file.
    Sqlite(sqlite::FileTransaction),
    /// On a PostgreSQL schema.
    Postgres(postgres::SchemaTransaction),
}

/// What a savepoint operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Savepoint {
    /// `SAVEPOINT name`.
    Create,
    /// `RELEASE SAVEPOINT name`: keep what was done since.
    Release,
    /// `ROLLBACK TO SAVEPOINT name`: undo what was done since.
    RollBack,
}

impl SqlTransaction {
    /// Runs `statements` in the transaction; several are all or nothing (a savepoint).
    pub fn run(
        &mut self,
        statements: &[SqlStatement],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        match self {
            SqlTransaction::Sqlite(transaction) => transaction.run(statements, timeout),
            SqlTransaction::Postgres(transaction) => transaction.run(statements, timeout),
        }
    }

    /// Runs each statement of `sql` (no values bound) in the transaction, all or nothing:
    /// `db.exec` inside a test's transaction.
    pub fn exec(&mut self, sql: &str, timeout: Duration) -> Result<usize, SqlError> {
        let dialect = match self {
            SqlTransaction::Sqlite(_) => SqlDialect::Sqlite,
            SqlTransaction::Postgres(_) => SqlDialect::Postgres,
        };
        let statements = unbound_statements(dialect, sql)?;
        let count = statements.len();
        self.run(&statements, timeout)?;
        Ok(count)
    }

    /// Creates, releases or rolls back to the savepoint `name` (letters, digits and `_`).
    pub fn savepoint(&mut self, operation: Savepoint, name: &str) -> Result<(), SqlError> {
        if name.is_empty()
            || name.len() > 63
            || !name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
        {
            return Err(SqlError::Arguments(format!(
                "the savepoint name {name:?} is not allowed: use letters, digits and _ (at most 63)"
            )));
        }
        let sql = match operation {
            Savepoint::Create => format!("SAVEPOINT sp_{name}"),
            Savepoint::Release => format!("RELEASE SAVEPOINT sp_{name}"),
            Savepoint::RollBack => format!("ROLLBACK TO SAVEPOINT sp_{name}"),
        };
        match self {
            SqlTransaction::Sqlite(transaction) => transaction.control(&sql),
            SqlTransaction::Postgres(transaction) => transaction.control(&sql),
        }
    }

    /// Makes the transaction's changes permanent.
    pub fn commit(self) -> Result<(), SqlError> {
        match self {
            SqlTransaction::Sqlite(transaction) => transaction.finish(true),
            SqlTransaction::Postgres(transaction) => transaction.finish(true),
        }
    }

    /// Undoes the transaction's changes.
    pub fn rollback(self) -> Result<(), SqlError> {
        match self {
            SqlTransaction::Sqlite(transaction) => transaction.finish(false),
            SqlTransaction::Postgres(transaction) => transaction.finish(false),
        }
    }
}

/// Each statement of `sql`, checked by the guard, with no values bound (`exec`).
fn unbound_statements(dialect: SqlDialect, sql: &str) -> Result<Vec<SqlStatement>, SqlError> {
    Ok(guard::check_all(dialect, sql)
        .map_err(SqlError::Refused)?
        .into_iter()
        .map(|checked| SqlStatement::new(checked.sql, Vec::new()))
        .collect())
}

pub(crate) fn sqlite_file(
    dir: &std::path::Path,
    script: &str,
    limits: SqlLimits,
) -> Result<sqlite::ScriptFile, StoreError> {
    sqlite::ScriptFile::new(dir, script, limits)
}

pub(crate) fn postgres_schema(
    store: &crate::PostgresStore,
    script: &str,
    limits: SqlLimits,
) -> postgres::ScriptSchema {
    postgres::ScriptSchema::new(store.clone(), script, limits)
}

/// The kind of a declared column type, as GraphQL and scripts care about it.
fn kind_of(declared: &str) -> &'static str {
    let declared = declared.to_ascii_lowercase();
    if declared.contains("int") || declared.contains("serial") {
        "integer"
    } else if ["real", "double", "float", "numeric", "decimal"]
        .iter()
        .any(|kind| declared.contains(kind))
    {
        "float"
    } else if declared.contains("bool") {
        "boolean"
    } else {
        "text"
    }
}

/// A name for `script` that a file system and PostgreSQL both accept: its letters and
/// digits (at most 40) and a hash of the whole name, so different scripts never share one.
pub(crate) fn namespace(script: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, script.as_bytes());
    let mut slug: String = script
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    slug.truncate(40);
    let hash: String = digest.as_ref()[..5]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("script_{slug}_{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_readable_distinct_and_short() {
        assert!(namespace("notes.js").starts_with("script_notes_js_"));
        assert_ne!(namespace("a.js"), namespace("a_js"));
        let long = namespace(&"x".repeat(500));
        assert!(long.len() <= 63, "{long}");
        assert!(
            namespace("https://example.com/Ä?x=1")
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        );
    }
}
