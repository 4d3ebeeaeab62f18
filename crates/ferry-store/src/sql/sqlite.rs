//! Script databases on SQLite: one file per script in the data directory's `scripts/`,
//! opened with an authorizer (no `ATTACH`, no `PRAGMA` but a few read-only ones, no
//! virtual tables), a progress handler that stops statements at their deadline and a page
//! limit that is the storage quota.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, ToSql};

use super::guard::{Checked, GuardCache, SqlDialect};
use super::value::ResultBudget;
use super::{SqlError, SqlLimits, SqlOutcome, SqlStatement, SqlValue};
use crate::StoreError;

/// The directory, beside the store's database, that holds the scripts' files.
pub(crate) const SCRIPTS_DIR: &str = "scripts";

/// The longest text or blob a statement may make (SQLite's default is a billion bytes).
const MAX_VALUE_BYTES: i32 = 64 * 1024 * 1024;

/// How many virtual-machine steps pass between looks at the clock.
const STEPS_BETWEEN_CHECKS: i32 = 1000;

/// A script's SQLite file and a connection to it for autocommitted statements.
#[derive(Debug)]
pub struct ScriptFile {
    path: PathBuf,
    limits: SqlLimits,
    open: Option<Open>,
    guard: GuardCache,
}

impl ScriptFile {
    /// The file of `script` in `dir` (created on first use).
    pub(crate) fn new(dir: &Path, script: &str, limits: SqlLimits) -> Result<Self, StoreError> {
        let dir = dir.join(SCRIPTS_DIR);
        std::fs::create_dir_all(&dir).map_err(|source| StoreError::CreateDir {
            path: dir.clone(),
            source,
        })?;
        Ok(ScriptFile {
            path: dir.join(format!("{}.db", super::namespace(script))),
            limits,
            open: None,
            guard: GuardCache::default(),
        })
    }

    fn connection(&mut self) -> Result<&mut Open, SqlError> {
        if self.open.is_none() {
            self.open = Some(Open::new(&self.path, &self.limits)?);
        }
        self.open
            .as_mut()
            .ok_or_else(|| SqlError::Rejected("the database could not be opened".into()))
    }

    pub(crate) fn run(
        &mut self,
        statements: &[SqlStatement],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        let checked = self.guard.check_each(SqlDialect::Sqlite, statements)?;
        let limits = self.limits;
        let open = self.connection()?;
        open.connection
            .busy_timeout(timeout)
            .map_err(|error| open.failure(error, timeout, &limits))?;
        open.run_atomically(&checked, timeout, &limits, &WHOLE_TRANSACTION)
    }

    pub(crate) fn columns(&mut self, table: &str) -> Result<Vec<(String, String)>, SqlError> {
        let limits = self.limits;
        let open = self.connection()?;
        let read = || -> rusqlite::Result<Vec<(String, String)>> {
            let mut statement = open
                .connection
                .prepare_cached("SELECT name, type FROM pragma_table_info(?1)")?;
            let rows = statement.query_map([table], |row| Ok((row.get(0)?, row.get(1)?)))?;
            rows.collect()
        };
        read().map_err(|error| open.failure(error, Duration::from_secs(5), &limits))
    }

    pub(crate) fn begin(&mut self, wait: Duration) -> Result<FileTransaction, SqlError> {
        let open = Open::new(&self.path, &self.limits)?;
        open.connection
            .busy_timeout(wait)
            .map_err(|error| open.failure(error, wait, &self.limits))?;
        open.control("BEGIN IMMEDIATE", wait, &self.limits)?;
        Ok(FileTransaction {
            open: Some(open),
            limits: self.limits,
            guard: GuardCache::default(),
        })
    }
}

/// A transaction on a script's file, on a connection of its own.
#[derive(Debug)]
pub struct FileTransaction {
    open: Option<Open>,
    limits: SqlLimits,
    guard: GuardCache,
}

impl FileTransaction {
    fn open(&self) -> Result<&Open, SqlError> {
        self.open
            .as_ref()
            .ok_or_else(|| SqlError::Arguments("the transaction has ended".into()))
    }

    pub(crate) fn run(
        &mut self,
        statements: &[SqlStatement],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        let checked = self.guard.check_each(SqlDialect::Sqlite, statements)?;
        let limits = self.limits;
        let open = self.open()?;
        open.run_atomically(&checked, timeout, &limits, &SAVEPOINT)
    }

    pub(crate) fn control(&mut self, sql: &str) -> Result<(), SqlError> {
        let limits = self.limits;
        self.open()?.control(sql, Duration::from_secs(5), &limits)
    }

    pub(crate) fn finish(mut self, commit: bool) -> Result<(), SqlError> {
        let limits = self.limits;
        let open = self.open.take();
        match open {
            Some(open) => {
                let sql = if commit { "COMMIT" } else { "ROLLBACK" };
                let done = open.control(sql, Duration::from_secs(5), &limits);
                if done.is_err() && commit {
                    let _ = open.control("ROLLBACK", Duration::from_secs(5), &limits);
                }
                done
            }
            None => Ok(()),
        }
    }
}

impl Drop for FileTransaction {
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            let _ = open.control("ROLLBACK", Duration::from_secs(5), &self.limits);
        }
    }
}

/// How several statements are made all or nothing: the SQL that opens the unit, and what
/// keeps or undoes it.
struct Atomic {
    open: &'static str,
    keep: &'static [&'static str],
    undo: &'static [&'static str],
}

/// Autocommitted statements: a transaction of their own (taking the write lock at once).
const WHOLE_TRANSACTION: Atomic = Atomic {
    open: "BEGIN IMMEDIATE",
    keep: &["COMMIT"],
    undo: &["ROLLBACK"],
};

/// Statements inside a script's transaction: a savepoint.
const SAVEPOINT: Atomic = Atomic {
    open: "SAVEPOINT ferry_batch",
    keep: &["RELEASE SAVEPOINT ferry_batch"],
    undo: &[
        "ROLLBACK TO SAVEPOINT ferry_batch",
        "RELEASE SAVEPOINT ferry_batch",
    ],
};

/// A connection to a script's file with its limits in place, and the deadline its
/// progress handler enforces.
struct Open {
    connection: Connection,
    deadline: Arc<Mutex<Option<Instant>>>,
}

impl std::fmt::Debug for Open {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Open").finish_non_exhaustive()
    }
}

impl Open {
    fn new(path: &Path, limits: &SqlLimits) -> Result<Open, SqlError> {
        let failed = |source| {
            SqlError::Store(StoreError::Database {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut connection = Connection::open(path).map_err(failed)?;
        // Workers open the file at once on start (every one runs init()): wait, not fail.
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(failed)?;
        // Switching a new file to WAL takes its lock; two connections doing it at once can
        // be refused without waiting (SQLite's deadlock rule): try again briefly.
        retry_while_busy(|| {
            connection.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
            )
        })
        .map_err(failed)?;
        let page_size: i64 = connection
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .map_err(failed)?;
        let pages = (limits.quota_bytes / page_size.max(512) as u64).max(16);
        connection
            .pragma_update(None, "max_page_count", pages as i64)
            .map_err(failed)?;
        connection
            .set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)
            .map_err(failed)?;
        connection
            .set_limit(Limit::SQLITE_LIMIT_LENGTH, MAX_VALUE_BYTES)
            .map_err(failed)?;
        connection.set_prepared_statement_cache_capacity(64);
        connection.authorizer(Some(authorize)).map_err(failed)?;
        let deadline: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
        let watched = deadline.clone();
        connection
            .progress_handler(
                STEPS_BETWEEN_CHECKS,
                Some(move || {
                    let at = *watched.lock().unwrap_or_else(|poison| poison.into_inner());
                    at.is_some_and(|at| Instant::now() >= at)
                }),
            )
            .map_err(failed)?;
        Ok(Open {
            connection,
            deadline,
        })
    }

    fn set_deadline(&self, at: Option<Instant>) {
        *self
            .deadline
            .lock()
            .unwrap_or_else(|poison| poison.into_inner()) = at;
    }

    /// Runs transaction control (no values, no rows).
    fn control(&self, sql: &str, timeout: Duration, limits: &SqlLimits) -> Result<(), SqlError> {
        self.connection
            .execute_batch(sql)
            .map_err(|error| self.failure(error, timeout, limits))
    }

    /// Runs one statement as it is, several as `atomic` makes them all or nothing.
    fn run_atomically(
        &self,
        checked: &[(Checked, &SqlStatement)],
        timeout: Duration,
        limits: &SqlLimits,
        atomic: &Atomic,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        if let [(checked, statement)] = checked {
            return Ok(vec![self.execute(
                checked,
                &statement.params,
                timeout,
                limits,
            )?]);
        }
        self.control(atomic.open, timeout, limits)?;
        let outcomes = self.execute_all(checked, timeout, limits);
        let end = if outcomes.is_ok() {
            atomic.keep
        } else {
            atomic.undo
        };
        for sql in end {
            self.control(sql, timeout, limits)?;
        }
        outcomes
    }

    fn execute_all(
        &self,
        checked: &[(Checked, &SqlStatement)],
        timeout: Duration,
        limits: &SqlLimits,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        checked
            .iter()
            .map(|(checked, statement)| self.execute(checked, &statement.params, timeout, limits))
            .collect()
    }

    fn execute(
        &self,
        checked: &Checked,
        params: &[SqlValue],
        timeout: Duration,
        limits: &SqlLimits,
    ) -> Result<SqlOutcome, SqlError> {
        let started = Instant::now();
        self.set_deadline(Some(started + timeout));
        let outcome = self
            .execute_now(checked, params, limits)
            .map_err(|error| match error {
                Failure::Sql(error) => error,
                Failure::Sqlite(error) => self.failure(error, timeout, limits),
            });
        self.set_deadline(None);
        outcome.map(|mut outcome| {
            outcome.duration_ms = started.elapsed().as_secs_f64() * 1000.0;
            outcome
        })
    }

    fn execute_now(
        &self,
        checked: &Checked,
        params: &[SqlValue],
        limits: &SqlLimits,
    ) -> Result<SqlOutcome, Failure> {
        let mut statement = self.connection.prepare_cached(&checked.sql)?;
        let expected = statement.parameter_count();
        if params.len() != expected {
            return Err(Failure::Sql(arguments(expected, params.len())));
        }
        for (index, value) in params.iter().enumerate() {
            statement.raw_bind_parameter(index + 1, value)?;
        }
        let read_only = statement.readonly();
        let mut budget = ResultBudget::new(limits);
        let mut rows = Vec::new();
        // The shape of the result is read after the first step: a cached statement is
        // prepared again by SQLite then if its tables changed since.
        let mut shape: Option<Shape> = None;
        {
            let mut cursor = statement.raw_query();
            while let Some(row) = cursor.next()? {
                let shape = shape.get_or_insert_with(|| Shape::of(row.as_ref()));
                let mut values = Vec::with_capacity(shape.names.len());
                for (index, is_boolean) in shape.boolean.iter().enumerate() {
                    values.push(value_of(row.get_ref(index)?, *is_boolean));
                }
                budget
                    .admit(rows.len() + 1, &values)
                    .map_err(Failure::Sql)?;
                rows.push(values);
            }
        }
        let columns = shape.unwrap_or_else(|| Shape::of(&statement)).names;
        let changes = if read_only {
            0
        } else {
            self.connection.changes()
        };
        let last_row_id = (!read_only).then(|| self.connection.last_insert_rowid());
        Ok(SqlOutcome {
            columns,
            rows,
            changes,
            last_row_id,
            duration_ms: 0.0,
        })
    }

    fn failure(&self, error: rusqlite::Error, timeout: Duration, limits: &SqlLimits) -> SqlError {
        if let rusqlite::Error::SqliteFailure(failure, message) = &error {
            match failure.code {
                ErrorCode::OperationInterrupted => return SqlError::Timeout(timeout),
                ErrorCode::DiskFull => return SqlError::Quota(limits.quota_bytes),
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => return SqlError::Busy,
                ErrorCode::AuthorizationForStatementDenied => {
                    return SqlError::Refused(
                        "the statement does something scripts may not do".into(),
                    );
                }
                _ => {
                    if let Some(message) = message {
                        return SqlError::Rejected(message.clone());
                    }
                }
            }
        }
        SqlError::Rejected(error.to_string())
    }
}

/// The columns of a result: their names, and which are declared `BOOLEAN` (SQLite keeps
/// those as 0 and 1; scripts get `false` and `true`, as from PostgreSQL).
struct Shape {
    names: Vec<String>,
    boolean: Vec<bool>,
}

impl Shape {
    fn of(statement: &rusqlite::Statement<'_>) -> Shape {
        Shape {
            names: statement.column_names().map(str::to_owned).collect(),
            boolean: statement
                .columns()
                .map(|column| {
                    column
                        .decl_type()
                        .is_some_and(|kind| kind.eq_ignore_ascii_case("boolean"))
                })
                .collect(),
        }
    }
}

/// `attempt`, again while SQLite answers busy: up to 100 times, 10 ms apart.
fn retry_while_busy<T>(mut attempt: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    for _ in 0..100 {
        match attempt() {
            Err(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == ErrorCode::DatabaseBusy =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
    attempt()
}

/// A failure while a statement runs: the limits' own, or SQLite's.
enum Failure {
    Sql(SqlError),
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Failure::Sqlite(error)
    }
}

pub(super) fn arguments(expected: usize, given: usize) -> SqlError {
    SqlError::Arguments(format!(
        "the statement has {expected} placeholder{} and {given} value{} {} bound",
        if expected == 1 { "" } else { "s" },
        if given == 1 { "" } else { "s" },
        if given == 1 { "was" } else { "were" },
    ))
}

fn value_of(value: ValueRef<'_>, boolean: bool) -> SqlValue {
    match value {
        ValueRef::Null => SqlValue::Null,
        ValueRef::Integer(number) if boolean => SqlValue::Boolean(number != 0),
        ValueRef::Integer(number) => SqlValue::Integer(number),
        ValueRef::Real(number) => SqlValue::Real(number),
        ValueRef::Text(text) => SqlValue::Text(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => SqlValue::Blob(bytes.to_vec()),
    }
}

impl ToSql for SqlValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            SqlValue::Null => ValueRef::Null,
            SqlValue::Integer(number) => ValueRef::Integer(*number),
            SqlValue::Real(number) => ValueRef::Real(*number),
            SqlValue::Boolean(value) => ValueRef::Integer(i64::from(*value)),
            SqlValue::Text(text) => ValueRef::Text(text.as_bytes()),
            SqlValue::Blob(bytes) => ValueRef::Blob(bytes),
        }))
    }
}

/// The second line of defence behind the guard, enforced by SQLite itself.
fn authorize(context: AuthContext<'_>) -> Authorization {
    match context.action {
        AuthAction::Attach { .. }
        | AuthAction::Detach { .. }
        | AuthAction::CreateVtable { .. }
        | AuthAction::DropVtable { .. } => Authorization::Deny,
        AuthAction::Pragma { pragma_name, .. } => {
            let read_only = matches!(
                pragma_name.to_ascii_lowercase().as_str(),
                "table_info" | "table_xinfo" | "index_list" | "index_info" | "foreign_key_list"
            );
            if read_only {
                Authorization::Allow
            } else {
                Authorization::Deny
            }
        }
        AuthAction::Function { function_name } => {
            if matches!(
                function_name.to_ascii_lowercase().as_str(),
                "load_extension" | "fts3_tokenizer" | "readfile" | "writefile" | "edit"
            ) {
                Authorization::Deny
            } else {
                Authorization::Allow
            }
        }
        _ => Authorization::Allow,
    }
}
