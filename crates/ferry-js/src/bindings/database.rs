//! SQL for scripts: the Rust half of `db` (shaped like Cloudflare D1) and of aiwebengine's
//! `database`, both written in `database.js` on top of these functions.
//!
//! Each worker keeps one [`ScriptDatabase`] per script and the transactions scripts hold
//! open, by id. A transaction belongs to the call (handler, timer callback, `init()`) in
//! whose scope it began: when that call ends, aiwebengine's implicit transaction commits
//! (or rolls back when the call threw), and a `db.transaction()` left open rolls back.
//! Transactions also end when they outlive their time.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ferry_store::{Savepoint, ScriptDatabase, SqlError, SqlStatement, SqlTransaction, SqlValue};
use rquickjs::{Ctx, Function, Object};

use super::{ScriptHost, throw};
use crate::job::HostCallError;

/// The longest a statement runs when the section has no deadline.
const DEFAULT_STATEMENT_TIME: Duration = Duration::from_secs(5);
/// How long a transaction may stay open unless its script asks for another time.
const DEFAULT_TRANSACTION_TIME: Duration = Duration::from_secs(5);
/// The longest a script may ask a transaction to stay open.
const MAX_TRANSACTION_TIME: Duration = Duration::from_secs(60);

/// The scripts' databases and open transactions of one worker.
#[derive(Default)]
pub(crate) struct SqlState {
    databases: HashMap<Arc<str>, ScriptDatabase>,
    open: HashMap<u32, Open>,
    next_id: u32,
}

/// A transaction a script holds.
struct Open {
    script: Arc<str>,
    transaction: SqlTransaction,
    /// The call it belongs to.
    scope: u64,
    /// aiwebengine's implicit transaction: committed when its call returns.
    implicit: bool,
    /// aiwebengine's savepoints (nested `beginTransaction`), innermost last.
    savepoints: Vec<String>,
    next_savepoint: u32,
    expires: Instant,
}

impl SqlState {
    /// Ends the transactions of `scope`: implicit ones commit when the call succeeded,
    /// everything else rolls back.
    pub(crate) fn end_scope(&mut self, scope: u64, succeeded: bool) {
        let ids: Vec<u32> = self
            .open
            .iter()
            .filter(|(_, open)| open.scope == scope)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            let Some(open) = self.open.remove(&id) else {
                continue;
            };
            let script = open.script.clone();
            if open.implicit && succeeded {
                if let Err(error) = open.transaction.commit() {
                    tracing::warn!(%script, %error, "the database transaction of the call could not be committed");
                }
            } else {
                if !open.implicit {
                    tracing::warn!(%script, "a db.transaction() was still open when its call ended; it was rolled back");
                }
                let _ = open.transaction.rollback();
            }
        }
    }

    /// Rolls back the transactions that outlived their time.
    pub(crate) fn expire(&mut self, now: Instant) {
        let expired: Vec<u32> = self
            .open
            .iter()
            .filter(|(_, open)| open.expires <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(open) = self.open.remove(&id) {
                tracing::warn!(script = %open.script, "a database transaction outlived its time and was rolled back");
                let _ = open.transaction.rollback();
            }
        }
    }

    /// When the next open transaction expires.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        self.open.values().map(|open| open.expires).min()
    }

    /// Forgets the databases of `script` (unloaded): its transactions roll back.
    pub(crate) fn forget(&mut self, script: &str) {
        self.open.retain(|_, open| &*open.script != script);
        self.databases.remove(script);
    }
}

pub(super) fn install<'js>(
    ctx: &Ctx<'js>,
    host_object: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let owner = script.clone();
    let dialect = Function::new(ctx.clone(), move |ctx: Ctx<'js>| {
        with_database(&ctx, &owner, |database, _| {
            Ok(database.dialect().name().to_owned())
        })
    })?;
    host_object.set("sqlDialect", dialect)?;

    let owner = script.clone();
    let run = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, transaction: u32, statements: String| -> rquickjs::Result<String> {
            let statements = parse_statements(&statements).map_err(|error| throw(&ctx, &error))?;
            let timeout = owner.host.statement_time();
            let outcomes = if transaction == 0 {
                with_database(&ctx, &owner, |database, _| {
                    database.run(&statements, timeout)
                })?
            } else {
                with_transaction(&ctx, &owner, transaction, |open| {
                    open.transaction.run(&statements, timeout)
                })?
            };
            Ok(outcomes_json(&outcomes))
        },
    )?;
    host_object.set("sqlRun", run)?;

    // Outside transactions on PostgreSQL the statements run on the blocking pool while this
    // worker goes on with other calls; the answer is the id of the host call whose promise
    // settles with them, or null where they are better run at once with sqlRun (SQLite).
    let owner = script.clone();
    let run_later = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, statements: String| -> rquickjs::Result<Option<u32>> {
            let detached_now = owner.host.sql_in_flight.load(Ordering::Acquire);
            if owner.registrations.borrow().is_some() || detached_now >= MAX_DETACHED_PER_WORKER {
                // Loading: the script's promises settle only after it has loaded. Too many
                // under way: this one runs now, and calls queue for the worker meanwhile
                // (their queueing does not count against their time limit).
                return Ok(None);
            }
            let statements = parse_statements(&statements).map_err(|error| throw(&ctx, &error))?;
            // What is left of the call, less time for the answer to come back and be
            // handled before the call's own deadline.
            let left = owner.host.statement_time();
            let timeout = left.saturating_sub((left / 10).min(Duration::from_millis(50)));
            let detached = with_database(&ctx, &owner, |database, _| {
                database.detach(statements, timeout)
            })?;
            Ok(detached.map(|run| {
                let in_flight = owner.host.sql_in_flight.clone();
                in_flight.fetch_add(1, Ordering::AcqRel);
                owner.spawn_host_call(async move {
                    let done = tokio::task::spawn_blocking(move || run.run()).await;
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                    match done {
                        Ok(Ok(outcomes)) => Ok(outcomes_json(&outcomes)),
                        Ok(Err(error)) => Err(HostCallError {
                            message: format!("db: {error}"),
                            status: error.is_unavailable().then_some(503),
                        }),
                        Err(_) => Err(HostCallError {
                            message: "db: the statement's thread stopped".to_owned(),
                            status: Some(503),
                        }),
                    }
                })
            }))
        },
    )?;
    host_object.set("sqlRunLater", run_later)?;

    let owner = script.clone();
    let exec = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, transaction: u32, sql: String| {
            let timeout = owner.host.statement_time();
            let count = if transaction == 0 {
                with_database(&ctx, &owner, |database, _| database.exec(&sql, timeout))?
            } else {
                with_transaction(&ctx, &owner, transaction, |open| {
                    open.transaction.exec(&sql, timeout)
                })?
            };
            Ok::<_, rquickjs::Error>(count as u32)
        },
    )?;
    host_object.set("sqlExec", exec)?;

    let owner = script.clone();
    let describe = Function::new(ctx.clone(), move |ctx: Ctx<'js>, table: String| {
        let columns = with_database(&ctx, &owner, |database, _| database.columns(&table))?;
        let described: Vec<serde_json::Value> = columns
            .into_iter()
            .map(|(name, kind)| serde_json::json!({ "name": name, "kind": kind }))
            .collect();
        Ok::<_, rquickjs::Error>(serde_json::Value::Array(described).to_string())
    })?;
    host_object.set("sqlDescribe", describe)?;

    let owner = script.clone();
    let begin = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, implicit: bool, time: Option<f64>| -> rquickjs::Result<u32> {
            let lifetime = match time {
                Some(ms) if ms.is_finite() && ms > 0.0 => {
                    Duration::from_millis(ms as u64).min(MAX_TRANSACTION_TIME)
                }
                _ => DEFAULT_TRANSACTION_TIME,
            };
            let wait = owner.host.statement_time();
            let transaction = with_database(&ctx, &owner, |database, _| database.begin(wait))?;
            let host = &owner.host;
            let mut state = host.sql.borrow_mut();
            state.next_id = state.next_id.wrapping_add(1).max(1);
            let id = state.next_id;
            state.open.insert(
                id,
                Open {
                    script: owner.name.clone(),
                    transaction,
                    scope: owner.scope(),
                    implicit,
                    savepoints: Vec::new(),
                    next_savepoint: 0,
                    expires: Instant::now() + lifetime,
                },
            );
            Ok(id)
        },
    )?;
    host_object.set("sqlBegin", begin)?;

    let owner = script.clone();
    let end = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, transaction: u32, commit: bool| -> rquickjs::Result<()> {
            let open = owner.host.sql.borrow_mut().open.remove(&transaction);
            let Some(open) = open.filter(|open| open.script == owner.name) else {
                return Err(throw(&ctx, ENDED));
            };
            let done = if commit {
                open.transaction.commit()
            } else {
                open.transaction.rollback()
            };
            done.map_err(|error| sql_error(&ctx, &error))
        },
    )?;
    host_object.set("sqlEnd", end)?;

    let owner = script.clone();
    let savepoint = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, transaction: u32, operation: String, name: String| {
            let operation = match operation.as_str() {
                "create" => Savepoint::Create,
                "release" => Savepoint::Release,
                _ => Savepoint::RollBack,
            };
            with_transaction(&ctx, &owner, transaction, |open| {
                open.transaction.savepoint(operation, &name)
            })
        },
    )?;
    host_object.set("sqlSavepoint", savepoint)?;

    install_implicit(ctx, host_object, script)
}

/// aiwebengine's transactions: one implicit transaction per call, nested
/// `beginTransaction` calls as savepoints.
fn install_implicit<'js>(
    ctx: &Ctx<'js>,
    host_object: &Object<'js>,
    script: &Rc<ScriptHost>,
) -> rquickjs::Result<()> {
    let owner = script.clone();
    let current = Function::new(ctx.clone(), move || {
        owner.host.implicit_transaction(&owner.name, owner.scope())
    })?;
    host_object.set("sqlImplicit", current)?;

    // Nested levels: a savepoint named for its depth; returns its name.
    let owner = script.clone();
    let nest = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, transaction: u32, name: Option<String>| -> rquickjs::Result<String> {
            with_transaction(&ctx, &owner, transaction, |open| {
                let name = match name {
                    Some(name) => name,
                    None => {
                        open.next_savepoint += 1;
                        format!("sp_{}", open.next_savepoint)
                    }
                };
                open.transaction.savepoint(Savepoint::Create, &name)?;
                open.savepoints.push(name.clone());
                Ok(name)
            })
        },
    )?;
    host_object.set("sqlNest", nest)?;

    // Ends the innermost level: a savepoint (released or rolled back to), else the
    // transaction itself. Returns what it ended.
    let owner = script.clone();
    let unnest = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, transaction: u32, commit: bool| -> rquickjs::Result<String> {
            let innermost = with_transaction(&ctx, &owner, transaction, |open| {
                let Some(name) = open.savepoints.pop() else {
                    return Ok(None);
                };
                if !commit {
                    open.transaction.savepoint(Savepoint::RollBack, &name)?;
                }
                open.transaction.savepoint(Savepoint::Release, &name)?;
                Ok(Some(name))
            })?;
            if let Some(name) = innermost {
                return Ok(format!("savepoint {name}"));
            }
            if owner.test_scope.is_some() {
                return Err(throw(
                    &ctx,
                    "in a test the outermost transaction is the test run's, rolled back when it ends: there is no transaction of the script's to end",
                ));
            }
            let open = owner.host.sql.borrow_mut().open.remove(&transaction);
            let Some(open) = open else {
                return Err(throw(&ctx, ENDED));
            };
            let done = if commit {
                open.transaction.commit()
            } else {
                open.transaction.rollback()
            };
            done.map_err(|error| sql_error(&ctx, &error))?;
            Ok("transaction".into())
        },
    )?;
    host_object.set("sqlUnnest", unnest)?;

    // Named savepoints of the implicit transaction (`rollbackToSavepoint`,
    // `releaseSavepoint`): the levels above the named one end with it.
    let owner = script.clone();
    let to_savepoint = Function::new(
        ctx.clone(),
        move |ctx: Ctx<'js>, transaction: u32, name: String, release: bool| {
            with_transaction(&ctx, &owner, transaction, |open| {
                let Some(depth) = open.savepoints.iter().rposition(|known| *known == name) else {
                    return Err(SqlError::Arguments(format!(
                        "there is no savepoint {name:?} in this transaction"
                    )));
                };
                if release {
                    open.transaction.savepoint(Savepoint::Release, &name)?;
                    open.savepoints.truncate(depth);
                } else {
                    open.transaction.savepoint(Savepoint::RollBack, &name)?;
                    open.savepoints.truncate(depth + 1);
                }
                Ok(())
            })
        },
    )?;
    host_object.set("sqlToSavepoint", to_savepoint)
}

/// The most statements one worker has running off it at once; past that they run on the
/// worker (which then takes no new call until they finish).
const MAX_DETACHED_PER_WORKER: usize = 16;

const ENDED: &str = "the transaction has already ended (committed, rolled back, or past its time)";

impl super::Host {
    /// How long the next statement may run: what is left of the section, at most the
    /// default when there is no deadline.
    fn statement_time(&self) -> Duration {
        match self.deadline.remaining() {
            Some(left) => left.max(Duration::from_millis(1)),
            None => DEFAULT_STATEMENT_TIME,
        }
    }

    /// The id of `script`'s implicit transaction in the call `scope`, or 0.
    fn implicit_transaction(&self, script: &str, scope: u64) -> u32 {
        self.sql
            .borrow()
            .open
            .iter()
            .find(|(_, open)| open.implicit && open.scope == scope && &*open.script == script)
            .map_or(0, |(id, _)| *id)
    }
}

/// Runs `work` on the script's database (opened on first use), expiring old transactions
/// first; failures become JavaScript errors.
fn with_database<T>(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    work: impl FnOnce(&mut ScriptDatabase, &str) -> Result<T, SqlError>,
) -> rquickjs::Result<T> {
    let host = &script.host;
    host.sql.borrow_mut().expire(Instant::now());
    let mut taken = {
        let mut state = host.sql.borrow_mut();
        state.databases.remove(&script.name)
    };
    if taken.is_none() {
        let Some(store) = &host.store else {
            return Err(throw(
                ctx,
                "db is not available: the engine has no data directory or database",
            ));
        };
        let opened = store
            .script_database(&script.name, host.sql_limits)
            .map_err(|error| sql_error(ctx, &SqlError::Store(error)))?;
        taken = Some(opened);
    }
    let Some(mut database) = taken else {
        return Err(throw(ctx, "db is not available"));
    };
    let result = work(&mut database, &script.name);
    host.sql
        .borrow_mut()
        .databases
        .insert(script.name.clone(), database);
    result.map_err(|error| sql_error(ctx, &error))
}

/// Runs `work` on the open transaction `id` of this script.
fn with_transaction<T>(
    ctx: &Ctx<'_>,
    script: &ScriptHost,
    id: u32,
    work: impl FnOnce(&mut Open) -> Result<T, SqlError>,
) -> rquickjs::Result<T> {
    let host = &script.host;
    let taken = {
        let mut state = host.sql.borrow_mut();
        state.expire(Instant::now());
        state.open.remove(&id)
    };
    let Some(mut open) = taken.filter(|open| open.script == script.name) else {
        return Err(throw(ctx, ENDED));
    };
    let result = work(&mut open);
    host.sql.borrow_mut().open.insert(id, open);
    result.map_err(|error| sql_error(ctx, &error))
}

/// The outcomes of statements as the JSON array `database.js` reads.
fn outcomes_json(outcomes: &[ferry_store::SqlOutcome]) -> String {
    let mut out = String::from("[");
    for (i, outcome) in outcomes.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        outcome.write_json(&mut out);
    }
    out.push(']');
    out
}

/// A store failure as a JavaScript error: unreachable or busy databases answer 503 with
/// Retry-After when uncaught; everything else is an ordinary error.
fn sql_error(ctx: &Ctx<'_>, error: &SqlError) -> rquickjs::Error {
    super::store_error(ctx, &format!("db: {error}"), error.is_unavailable())
}

/// `[[sql, [values…]], …]` from `database.js`; bytes come as `{"$bytes":[…]}` and
/// integers beyond a double's precision as `{"$int":"…"}`.
fn parse_statements(json: &str) -> Result<Vec<SqlStatement>, String> {
    let parsed: Vec<(String, Vec<serde_json::Value>)> =
        serde_json::from_str(json).map_err(|error| format!("db: malformed statements: {error}"))?;
    parsed
        .into_iter()
        .map(|(sql, values)| {
            let params = values
                .into_iter()
                .map(value_of)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(SqlStatement::new(sql, params))
        })
        .collect()
}

fn value_of(value: serde_json::Value) -> Result<SqlValue, String> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => SqlValue::Null,
        Value::Bool(value) => SqlValue::Boolean(value),
        Value::Number(number) => match number.as_i64() {
            Some(integer) => SqlValue::Integer(integer),
            None => SqlValue::Real(number.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(text) => SqlValue::Text(text),
        Value::Object(mut object) => {
            if let Some(Value::Array(bytes)) = object.remove("$bytes") {
                let bytes = bytes
                    .into_iter()
                    .map(|byte| byte.as_u64().and_then(|byte| u8::try_from(byte).ok()))
                    .collect::<Option<Vec<u8>>>()
                    .ok_or("db: a byte value out of range")?;
                SqlValue::Blob(bytes)
            } else if let Some(Value::String(digits)) = object.remove("$int") {
                SqlValue::Integer(
                    digits
                        .parse()
                        .map_err(|_| format!("db: the BigInt {digits} does not fit 64 bits"))?,
                )
            } else {
                return Err("db: a value the database cannot hold".into());
            }
        }
        Value::Array(_) => return Err("db: a value the database cannot hold".into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_parse_with_every_kind_of_value() {
        let parsed = parse_statements(
            r#"[["INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", [null, true, 3, 2.5, "x", {"$bytes": [0, 255]}, {"$int": "9007199254740993"}]]]"#,
        )
        .unwrap();
        assert_eq!(
            parsed[0].params,
            vec![
                SqlValue::Null,
                SqlValue::Boolean(true),
                SqlValue::Integer(3),
                SqlValue::Real(2.5),
                SqlValue::Text("x".into()),
                SqlValue::Blob(vec![0, 255]),
                SqlValue::Integer(9_007_199_254_740_993),
            ]
        );
        assert!(parse_statements(r#"[["SELECT ?", [{"$bytes": [256]}]]]"#).is_err());
        assert!(parse_statements(r#"[["SELECT ?", [[1]]]]"#).is_err());
        assert!(parse_statements("not json").is_err());
    }
}
