//! Script databases on PostgreSQL: a schema per script (`script_<name>_<hash>`), every
//! statement in a transaction whose `search_path` is that schema alone and whose
//! `statement_timeout` is the statement's time. Values go to the server as text, typed by
//! the server (as libpq does); results come back decoded per column type.

use std::error::Error;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use deadpool_postgres::Object;
use futures_util::TryStreamExt;
use tokio_postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};

use super::guard::{Checked, GuardCache, SqlDialect};
use super::value::ResultBudget;
use super::{SqlError, SqlLimits, SqlOutcome, SqlStatement, SqlValue};
use crate::PostgresStore;

/// How long a measured size of a schema is trusted before the quota is checked again.
const SIZE_FRESH_FOR: Duration = Duration::from_secs(1);

/// The most statements a pooled connection keeps prepared before it starts over.
const PREPARED_PER_CONNECTION: usize = 512;

/// How long a transaction may sit idle in the server before PostgreSQL ends it (a script
/// that keeps one open this long has lost it anyway).
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(60);

/// A script's schema, reached through the store's pool.
#[derive(Debug)]
pub struct ScriptSchema {
    store: PostgresStore,
    schema: String,
    limits: SqlLimits,
    guard: GuardCache,
    /// What runs elsewhere ([`DetachedRun`]) shares with this handle.
    state: Arc<SchemaState>,
}

/// What the runs on one script's schema learn and share: whether the schema exists, and
/// its size when last measured.
#[derive(Debug, Default)]
struct SchemaState {
    created: AtomicBool,
    size: Mutex<Option<(Instant, u64)>>,
}

/// Statements checked on one thread and run on another: the caller waits for the
/// database without holding up the thread that checked them.
#[derive(Debug)]
pub struct DetachedRun {
    store: PostgresStore,
    schema: String,
    limits: SqlLimits,
    state: Arc<SchemaState>,
    checked: Vec<(Checked, SqlStatement)>,
    timeout: Duration,
}

impl DetachedRun {
    /// Runs the statements, all in one transaction, as [`ScriptDatabase::run`](crate::ScriptDatabase::run) would.
    pub fn run(self) -> Result<Vec<SqlOutcome>, SqlError> {
        let checked: Vec<(Checked, &SqlStatement)> = self
            .checked
            .iter()
            .map(|(checked, statement)| (checked.clone(), statement))
            .collect();
        let target = Target {
            store: &self.store,
            schema: &self.schema,
            limits: self.limits,
            state: &self.state,
        };
        target.run(&checked, self.timeout)
    }
}

/// The size measured last (a poisoned lock still holds a usable value).
fn lock(size: &Mutex<Option<(Instant, u64)>>) -> MutexGuard<'_, Option<(Instant, u64)>> {
    size.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The advisory lock a schema's changes take turns on: its name's hash, the same on every
/// node.
fn schema_lock(schema: &str) -> i64 {
    let digest = ring::digest::digest(&ring::digest::SHA256, schema.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest.as_ref()[..8]);
    i64::from_be_bytes(bytes)
}

impl ScriptSchema {
    pub(crate) fn new(store: PostgresStore, script: &str, limits: SqlLimits) -> Self {
        ScriptSchema {
            store,
            schema: super::namespace(script),
            limits,
            guard: GuardCache::default(),
            state: Arc::default(),
        }
    }

    fn target(&self) -> Target<'_> {
        Target {
            store: &self.store,
            schema: &self.schema,
            limits: self.limits,
            state: &self.state,
        }
    }

    /// `statements` checked now, to run later on another thread.
    pub(crate) fn detach(
        &mut self,
        statements: Vec<SqlStatement>,
        timeout: Duration,
    ) -> Result<DetachedRun, SqlError> {
        let checked = self
            .guard
            .check_each(SqlDialect::Postgres, &statements)?
            .into_iter()
            .map(|(checked, _)| checked)
            .collect::<Vec<_>>();
        Ok(DetachedRun {
            store: self.store.clone(),
            schema: self.schema.clone(),
            limits: self.limits,
            state: self.state.clone(),
            checked: checked.into_iter().zip(statements).collect(),
            timeout,
        })
    }

    pub(crate) fn run(
        &mut self,
        statements: &[SqlStatement],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        let checked = self.guard.check_each(SqlDialect::Postgres, statements)?;
        self.target().run(&checked, timeout)
    }

    pub(crate) fn columns(&mut self, table: &str) -> Result<Vec<(String, String)>, SqlError> {
        let store = self.store.clone();
        let limits = self.limits;
        let schema = self.schema.clone();
        store.block(async {
            let client = store.client().await?;
            let rows = client
                .query(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns \
                     WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
                    &[&schema, &table],
                )
                .await
                .map_err(|error| failure(&store, error, Duration::from_secs(5), &limits))?;
            Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
        })
    }

    pub(crate) fn begin(&mut self, wait: Duration) -> Result<SchemaTransaction, SqlError> {
        let store = self.store.clone();
        let schema = self.schema.clone();
        let limits = self.limits;
        let created = &self.state.created;
        let client = store.block(async {
            let client = store.client().await?;
            if !created.load(Ordering::Acquire) {
                create_schema(&store, &client, &schema).await?;
                created.store(true, Ordering::Release);
            }
            let open = format!(
                "BEGIN; SET LOCAL search_path TO {schema}; SET LOCAL statement_timeout = {}; SET LOCAL idle_in_transaction_session_timeout = {}",
                millis(wait),
                millis(IDLE_IN_TRANSACTION)
            );
            client
                .batch_execute(&open)
                .await
                .map_err(|error| failure(&store, error, wait, &limits))?;
            Ok::<_, SqlError>(client)
        })?;
        Ok(SchemaTransaction {
            store,
            client: Some(client),
            schema,
            limits,
            guard: GuardCache::default(),
            size: Mutex::new(None),
            timeout: wait,
        })
    }
}

/// Where statements of a script run: its schema, through the store's pool.
struct Target<'a> {
    store: &'a PostgresStore,
    schema: &'a str,
    limits: SqlLimits,
    state: &'a SchemaState,
}

impl Target<'_> {
    fn run(
        &self,
        checked: &[(Checked, &SqlStatement)],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        match self.run_checked(checked, timeout) {
            // A table changed shape since a pooled connection prepared the statement;
            // nothing was done (the transaction rolled back), and it is prepared again.
            Err(SqlError::Rejected(message)) if message.contains(STALE_PLAN) => {
                self.run_checked(checked, timeout)
            }
            other => other,
        }
    }

    fn run_checked(
        &self,
        checked: &[(Checked, &SqlStatement)],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        let store = self.store;
        let mut session = Session {
            schema: self.schema,
            limits: self.limits,
            size: &self.state.size,
        };
        let created = &self.state.created;
        store.block(async {
            let client = store.client().await?;
            if !created.load(Ordering::Acquire) {
                create_schema(store, &client, session.schema).await?;
                created.store(true, Ordering::Release);
            }
            let open = format!(
                "BEGIN; SET LOCAL search_path TO {}; SET LOCAL statement_timeout = {}",
                session.schema,
                millis(timeout)
            );
            // The statements follow `BEGIN; SET LOCAL …` in the same flight: the
            // connection keeps the order, so they run in the transaction and its schema.
            // If opening it failed, they fail in the aborted transaction, never elsewhere.
            let limits = session.limits;
            let (opened, outcomes) = futures_util::future::join(
                client.batch_execute(&open),
                session.execute_all(store, &client, checked, timeout),
            )
            .await;
            if let Err(error) = opened {
                let _ = client.batch_execute("ROLLBACK").await;
                return Err(failure(store, error, timeout, &limits));
            }
            let end = if outcomes.is_ok() {
                "COMMIT"
            } else {
                "ROLLBACK"
            };
            client
                .batch_execute(end)
                .await
                .map_err(|error| failure(store, error, timeout, &session.limits))?;
            outcomes
        })
    }
}

/// A transaction on a script's schema, holding a pooled connection until it ends.
pub struct SchemaTransaction {
    store: PostgresStore,
    client: Option<Object>,
    schema: String,
    limits: SqlLimits,
    guard: GuardCache,
    size: Mutex<Option<(Instant, u64)>>,
    /// The statement timeout in force.
    timeout: Duration,
}

impl std::fmt::Debug for SchemaTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaTransaction")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl SchemaTransaction {
    pub(crate) fn run(
        &mut self,
        statements: &[SqlStatement],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        let checked = self.guard.check_each(SqlDialect::Postgres, statements)?;
        let store = self.store.clone();
        let Some(client) = self.client.as_ref() else {
            return Err(SqlError::Arguments("the transaction has ended".into()));
        };
        let mut session = Session {
            schema: &self.schema,
            limits: self.limits,
            size: &self.size,
        };
        let previous = &mut self.timeout;
        store.block(async {
            // A new timeout only when it moved noticeably: it costs a round trip.
            if previous.abs_diff(timeout) > Duration::from_millis(20) {
                let set = format!("SET LOCAL statement_timeout = {}", millis(timeout));
                client
                    .batch_execute(&set)
                    .await
                    .map_err(|error| failure(&store, error, timeout, &session.limits))?;
                *previous = timeout;
            }
            if checked.len() == 1 {
                return session.execute_all(&store, client, &checked, timeout).await;
            }
            let limits = session.limits;
            let control = async |sql: &'static str| {
                client
                    .batch_execute(sql)
                    .await
                    .map_err(|error| failure(&store, error, timeout, &limits))
            };
            control("SAVEPOINT ferry_batch").await?;
            let outcomes = session.execute_all(&store, client, &checked, timeout).await;
            if outcomes.is_err() {
                control("ROLLBACK TO SAVEPOINT ferry_batch").await?;
            }
            control("RELEASE SAVEPOINT ferry_batch").await?;
            outcomes
        })
    }

    pub(crate) fn control(&mut self, sql: &str) -> Result<(), SqlError> {
        let store = self.store.clone();
        let limits = self.limits;
        let Some(client) = self.client.as_ref() else {
            return Err(SqlError::Arguments("the transaction has ended".into()));
        };
        store.block(async {
            client
                .batch_execute(sql)
                .await
                .map_err(|error| failure(&store, error, Duration::from_secs(5), &limits))
        })
    }

    pub(crate) fn finish(mut self, commit: bool) -> Result<(), SqlError> {
        let sql = if commit { "COMMIT" } else { "ROLLBACK" };
        let done = self.control(sql);
        if done.is_err() && commit {
            let _ = self.control("ROLLBACK");
        }
        self.client = None;
        done
    }
}

impl Drop for SchemaTransaction {
    fn drop(&mut self) {
        if self.client.is_some() {
            let _ = self.control("ROLLBACK");
        }
    }
}

/// What executing statements in a script's schema needs.
struct Session<'a> {
    schema: &'a str,
    limits: SqlLimits,
    size: &'a Mutex<Option<(Instant, u64)>>,
}

impl Session<'_> {
    async fn execute_all(
        &mut self,
        store: &PostgresStore,
        client: &Object,
        checked: &[(Checked, &SqlStatement)],
        timeout: Duration,
    ) -> Result<Vec<SqlOutcome>, SqlError> {
        if checked.iter().any(|(checked, _)| checked.changes_schema) {
            // Held until the transaction ends: one schema change of this script at a time
            // (PostgreSQL's `IF NOT EXISTS` is not safe against a concurrent creation).
            client
                .execute(
                    "SELECT pg_catalog.pg_advisory_xact_lock($1)",
                    &[&schema_lock(self.schema)],
                )
                .await
                .map_err(|error| failure(store, error, timeout, &self.limits))?;
        }
        if checked.iter().any(|(checked, _)| checked.grows) {
            self.check_quota(store, client, timeout).await?;
        }
        let mut outcomes = Vec::with_capacity(checked.len());
        for (checked, statement) in checked {
            let outcome = self
                .execute(store, client, checked, &statement.params, timeout)
                .await?;
            if checked.grows && outcome.changes > 0 {
                // Writes make the measured size stale sooner.
                *lock(self.size) = None;
            }
            outcomes.push(outcome);
        }
        Ok(outcomes)
    }

    async fn check_quota(
        &mut self,
        store: &PostgresStore,
        client: &Object,
        timeout: Duration,
    ) -> Result<(), SqlError> {
        let fresh = lock(self.size).filter(|(measured, _)| measured.elapsed() < SIZE_FRESH_FOR);
        let size = match fresh {
            Some((_, size)) => size,
            None => {
                let row = client
                    .query_one(
                        "SELECT coalesce(sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::int8 \
                         FROM pg_catalog.pg_class c \
                         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
                         WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')",
                        &[&self.schema],
                    )
                    .await
                    .map_err(|error| failure(store, error, timeout, &self.limits))?;
                let size = u64::try_from(row.get::<_, i64>(0)).unwrap_or(0);
                *lock(self.size) = Some((Instant::now(), size));
                size
            }
        };
        if size >= self.limits.quota_bytes {
            return Err(SqlError::Quota(self.limits.quota_bytes));
        }
        Ok(())
    }

    async fn execute(
        &mut self,
        store: &PostgresStore,
        client: &Object,
        checked: &Checked,
        params: &[SqlValue],
        timeout: Duration,
    ) -> Result<SqlOutcome, SqlError> {
        let started = Instant::now();
        let fail = |error| failure(store, error, timeout, &self.limits);
        if client.statement_cache.size() > PREPARED_PER_CONNECTION {
            client.statement_cache.clear();
        }
        // The schema in the key: the same text means other tables in another schema.
        let text = format!("/* {} */ {}", self.schema, checked.sql);
        let statement = match client.prepare_cached(&text).await {
            Ok(statement) => statement,
            Err(error) => return Err(fail(error)),
        };
        if statement.params().len() != params.len() {
            return Err(super::sqlite::arguments(
                statement.params().len(),
                params.len(),
            ));
        }
        let columns: Vec<String> = statement
            .columns()
            .iter()
            .map(|column| column.name().to_owned())
            .collect();
        let stream = match client
            .query_raw(&statement, params.iter().map(|value| value as &dyn ToSql))
            .await
        {
            Ok(stream) => stream,
            Err(error) => {
                if is_stale_plan(&error) {
                    // The table changed shape since the statement was prepared.
                    client.statement_cache.remove(&text, &[]);
                }
                return Err(fail(error));
            }
        };
        let mut stream = std::pin::pin!(stream);
        let mut budget = ResultBudget::new(&self.limits);
        let mut rows = Vec::new();
        while let Some(row) = stream.try_next().await.map_err(fail)? {
            let mut values = Vec::with_capacity(columns.len());
            for index in 0..columns.len() {
                let cell: Cell = row
                    .try_get(index)
                    .map_err(|error| SqlError::Rejected(cell_error(&error)))?;
                values.push(cell.0);
            }
            budget.admit(rows.len() + 1, &values)?;
            rows.push(values);
        }
        let changes = if columns.is_empty() || checked.grows {
            stream.rows_affected().unwrap_or(0)
        } else {
            0
        };
        Ok(SqlOutcome {
            columns,
            rows,
            changes,
            last_row_id: None,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        })
    }
}

async fn create_schema(
    store: &PostgresStore,
    client: &Object,
    schema: &str,
) -> Result<(), SqlError> {
    let sql = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
    let created = client.batch_execute(&sql).await;
    match created {
        Ok(()) => Ok(()),
        // Another node or worker created it at the same moment.
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            Ok(())
        }
        Err(error) => Err(SqlError::Store(store.error(error))),
    }
}

fn millis(duration: Duration) -> u128 {
    duration.as_millis().max(1)
}

/// What PostgreSQL says when a prepared statement's table changed shape.
const STALE_PLAN: &str = "cached plan must not change result type";

fn is_stale_plan(error: &tokio_postgres::Error) -> bool {
    error
        .as_db_error()
        .is_some_and(|db| db.message().contains(STALE_PLAN))
}

/// A PostgreSQL error as the script sees it.
fn failure(
    store: &PostgresStore,
    error: tokio_postgres::Error,
    timeout: Duration,
    limits: &SqlLimits,
) -> SqlError {
    use tokio_postgres::error::SqlState;
    let Some(db) = error.as_db_error() else {
        return SqlError::Store(store.error(error));
    };
    let code = db.code();
    if code == &SqlState::QUERY_CANCELED {
        return SqlError::Timeout(timeout);
    }
    if code == &SqlState::DISK_FULL || code == &SqlState::PROGRAM_LIMIT_EXCEEDED {
        return SqlError::Quota(limits.quota_bytes);
    }
    if code == &SqlState::T_R_SERIALIZATION_FAILURE
        || code == &SqlState::T_R_DEADLOCK_DETECTED
        || code == &SqlState::LOCK_NOT_AVAILABLE
    {
        return SqlError::Busy;
    }
    if code == &SqlState::INSUFFICIENT_PRIVILEGE {
        return SqlError::Refused(format!(
            "{} (a script reaches only its own tables)",
            db.message()
        ));
    }
    let mut message = db.message().to_owned();
    if let Some(detail) = db.detail() {
        message.push_str(&format!(" ({detail})"));
    }
    if let Some(hint) = db.hint() {
        message.push_str(&format!("; {hint}"));
    }
    SqlError::Rejected(message)
}

fn cell_error(error: &tokio_postgres::Error) -> String {
    match error.source() {
        Some(source) => source.to_string(),
        None => error.to_string(),
    }
}

impl ToSql for SqlValue {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        let integer_column = matches!(*ty, Type::INT2 | Type::INT4 | Type::INT8 | Type::OID);
        let text = match self {
            SqlValue::Null => return Ok(IsNull::Yes),
            SqlValue::Integer(number) if *ty == Type::BOOL => {
                (if *number != 0 { "true" } else { "false" }).to_owned()
            }
            SqlValue::Integer(number) => number.to_string(),
            SqlValue::Real(number) if integer_column && number.fract() == 0.0 => {
                format!("{number:.0}")
            }
            SqlValue::Real(number) if number.is_nan() => "NaN".to_owned(),
            SqlValue::Real(number) if number.is_infinite() => (if *number > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            })
            .to_owned(),
            SqlValue::Real(number) => number.to_string(),
            SqlValue::Boolean(value) if integer_column => {
                (if *value { "1" } else { "0" }).to_owned()
            }
            SqlValue::Boolean(value) => (if *value { "true" } else { "false" }).to_owned(),
            SqlValue::Text(text) => {
                if text.contains('\0') {
                    return Err("text for PostgreSQL cannot contain the character U+0000".into());
                }
                text.clone()
            }
            SqlValue::Blob(bytes) => {
                if *ty != Type::BYTEA {
                    return Err(
                        format!("bytes can be bound to a bytea value only, not {ty}").into(),
                    );
                }
                let mut hex = String::with_capacity(2 + bytes.len() * 2);
                hex.push_str("\\x");
                for byte in bytes {
                    hex.push_str(&format!("{byte:02x}"));
                }
                hex
            }
        };
        out.extend_from_slice(text.as_bytes());
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

/// A column value decoded from PostgreSQL's binary format.
struct Cell(SqlValue);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        decode(ty, raw).map(Cell)
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(Cell(SqlValue::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn decode(ty: &Type, raw: &[u8]) -> Result<SqlValue, Box<dyn Error + Sync + Send>> {
    Ok(match *ty {
        Type::BOOL => SqlValue::Boolean(bool::from_sql(ty, raw)?),
        Type::INT2 => SqlValue::Integer(i16::from_sql(ty, raw)?.into()),
        Type::INT4 => SqlValue::Integer(i32::from_sql(ty, raw)?.into()),
        Type::INT8 => SqlValue::Integer(i64::from_sql(ty, raw)?),
        Type::OID => SqlValue::Integer(u32::from_sql(ty, raw)?.into()),
        Type::FLOAT4 => SqlValue::Real(f32::from_sql(ty, raw)?.into()),
        Type::FLOAT8 => SqlValue::Real(f64::from_sql(ty, raw)?),
        Type::NUMERIC => numeric(raw)?,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON => {
            SqlValue::Text(std::str::from_utf8(raw)?.to_owned())
        }
        Type::JSONB => match raw.split_first() {
            Some((1, text)) => SqlValue::Text(std::str::from_utf8(text)?.to_owned()),
            _ => return Err("an unknown jsonb format".into()),
        },
        Type::BYTEA => SqlValue::Blob(raw.to_vec()),
        Type::TIMESTAMPTZ => SqlValue::Text(format!("{}Z", timestamp(i64::from_sql(ty, raw)?)?)),
        Type::TIMESTAMP => SqlValue::Text(timestamp(i64::from_sql(ty, raw)?)?),
        Type::DATE => SqlValue::Text(date(i32::from_sql(ty, raw)?.into())?),
        Type::TIME => SqlValue::Text(time_of_day(i64::from_sql(ty, raw)?)),
        Type::UUID => SqlValue::Text(uuid(raw)?),
        _ if matches!(ty.kind(), Kind::Enum(_)) => {
            SqlValue::Text(std::str::from_utf8(raw)?.to_owned())
        }
        _ => {
            return Err(format!(
                "a column of type {ty} cannot be returned to a script; cast it in the query (for example column::text)"
            )
            .into());
        }
    })
}

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const EPOCH_DAYS: i64 = 10_957;

fn date(days_since_2000: i64) -> Result<String, Box<dyn Error + Sync + Send>> {
    let julian = 2_440_588 + EPOCH_DAYS + days_since_2000;
    let date = time::Date::from_julian_day(i32::try_from(julian)?)
        .map_err(|_| "a date out of range (infinity?)")?;
    let (year, month, day) = date.to_calendar_date();
    Ok(format!("{year:04}-{:02}-{day:02}", u8::from(month)))
}

fn time_of_day(micros: i64) -> String {
    let seconds = micros.div_euclid(1_000_000);
    let fraction = micros.rem_euclid(1_000_000);
    let clock = format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        (seconds / 60) % 60,
        seconds % 60
    );
    match fraction {
        0 => clock,
        f if f % 1000 == 0 => format!("{clock}.{:03}", f / 1000),
        f => format!("{clock}.{f:06}"),
    }
}

fn timestamp(micros_since_2000: i64) -> Result<String, Box<dyn Error + Sync + Send>> {
    let days = micros_since_2000.div_euclid(86_400_000_000);
    let rest = micros_since_2000.rem_euclid(86_400_000_000);
    Ok(format!("{}T{}", date(days)?, time_of_day(rest)))
}

fn uuid(raw: &[u8]) -> Result<String, Box<dyn Error + Sync + Send>> {
    if raw.len() != 16 {
        return Err("a uuid of the wrong length".into());
    }
    let hex: String = raw.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// A `numeric` as a number when a double holds it exactly enough (15 significant digits),
/// as text otherwise.
fn numeric(raw: &[u8]) -> Result<SqlValue, Box<dyn Error + Sync + Send>> {
    let word = |at: usize| -> Result<i32, Box<dyn Error + Sync + Send>> {
        raw.get(at..at + 2)
            .map(|bytes| i32::from(i16::from_be_bytes([bytes[0], bytes[1]])))
            .ok_or_else(|| "a truncated numeric".into())
    };
    let count = usize::try_from(word(0)?)?;
    let weight = word(2)?;
    let sign = word(4)? as u16;
    let scale = usize::from(word(6)? as u16);
    match sign {
        0xC000 => return Ok(SqlValue::Text("NaN".into())),
        0xD000 => return Ok(SqlValue::Text("Infinity".into())),
        0xF000 => return Ok(SqlValue::Text("-Infinity".into())),
        _ => {}
    }
    let digits: Vec<i32> = (0..count)
        .map(|i| word(8 + i * 2))
        .collect::<Result<_, _>>()?;
    let digit = |position: i32| -> i32 {
        usize::try_from(position)
            .ok()
            .and_then(|i| digits.get(i).copied())
            .unwrap_or(0)
    };
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    if weight < 0 {
        text.push('0');
    } else {
        for position in 0..=weight {
            if position == 0 {
                text.push_str(&digit(position).to_string());
            } else {
                text.push_str(&format!("{:04}", digit(position)));
            }
        }
    }
    if scale > 0 {
        let mut fraction = String::new();
        let mut position = weight + 1;
        while fraction.len() < scale {
            fraction.push_str(&format!("{:04}", digit(position)));
            position += 1;
        }
        fraction.truncate(scale);
        text.push('.');
        text.push_str(&fraction);
    }
    let significant = text.chars().filter(char::is_ascii_digit).count();
    if significant <= 15
        && let Ok(number) = text.parse::<f64>()
    {
        if scale == 0 && number.abs() < 9.007e15 {
            return Ok(SqlValue::Integer(number as i64));
        }
        return Ok(SqlValue::Real(number));
    }
    Ok(SqlValue::Text(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric_bytes(count: i16, weight: i16, sign: u16, scale: u16, digits: &[i16]) -> Vec<u8> {
        let mut raw = Vec::new();
        for word in [count, weight, sign as i16, scale as i16] {
            raw.extend_from_slice(&word.to_be_bytes());
        }
        for digit in digits {
            raw.extend_from_slice(&digit.to_be_bytes());
        }
        raw
    }

    #[test]
    fn numerics_decode() {
        // 12345.678 = [1, 2345, 6780], weight 1, scale 3
        let raw = numeric_bytes(3, 1, 0, 3, &[1, 2345, 6780]);
        assert_eq!(numeric(&raw).unwrap(), SqlValue::Real(12345.678));
        // -0.0042 = [42], weight -1, scale 4
        let raw = numeric_bytes(1, -1, 0x4000, 4, &[42]);
        assert_eq!(numeric(&raw).unwrap(), SqlValue::Real(-0.0042));
        // 100000000 = [1, 0, 0], weight 2, scale 0
        let raw = numeric_bytes(1, 2, 0, 0, &[1]);
        assert_eq!(numeric(&raw).unwrap(), SqlValue::Integer(100_000_000));
        // 20 digits stay text
        let raw = numeric_bytes(5, 4, 0, 0, &[1234, 5678, 9012, 3456, 7890]);
        assert_eq!(
            numeric(&raw).unwrap(),
            SqlValue::Text("12345678901234567890".into())
        );
        assert!(numeric(&[0, 1]).is_err());
    }

    #[test]
    fn dates_and_times_read_as_iso_8601() {
        assert_eq!(date(0).unwrap(), "2000-01-01");
        assert_eq!(date(-1).unwrap(), "1999-12-31");
        assert_eq!(
            timestamp(86_400_000_000 + 3_723_004_000).unwrap(),
            "2000-01-02T01:02:03.004"
        );
        assert_eq!(timestamp(-1).unwrap(), "1999-12-31T23:59:59.999999");
        assert_eq!(
            uuid(&[0x12; 16]).unwrap(),
            "12121212-1212-1212-1212-121212121212"
        );
    }
}
