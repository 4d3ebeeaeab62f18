//! Scripts' own SQL databases, on both back ends: values round-trip, batches and
//! transactions are all or nothing, one script cannot reach another's tables or Ferry's,
//! values never become SQL, and the timeout, the result caps and the quota hold.

// Test code: a failed unwrap is a failed test, with the value in the message.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use ferry_store::testing::PostgresCluster;
use ferry_store::{
    PostgresOptions, Savepoint, ScriptDatabase, SqlError, SqlLimits, SqlOutcome, SqlStatement,
    SqlValue, Store,
};

const TIME: Duration = Duration::from_secs(5);

struct Backend {
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

impl Backend {
    fn sqlite() -> Backend {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::sqlite(&dir.path().join("data")).unwrap();
        Backend {
            store,
            _dir: Some(dir),
        }
    }

    fn postgres() -> Backend {
        let options = PostgresOptions::new(PostgresCluster::shared().create_database());
        Backend {
            store: Store::postgres(&options).unwrap(),
            _dir: None,
        }
    }

    fn script(&self, name: &str) -> ScriptDatabase {
        self.limited(name, SqlLimits::default())
    }

    fn limited(&self, name: &str, limits: SqlLimits) -> ScriptDatabase {
        self.store.script_database(name, limits).unwrap()
    }
}

macro_rules! on_both_back_ends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::sqlite());
            })*
        }
        mod postgres {
            $(#[test]
            fn $name() {
                super::$name(super::Backend::postgres());
            })*
        }
    };
}

on_both_back_ends!(
    values_round_trip,
    placeholders_are_portable,
    batches_are_all_or_nothing,
    transactions_commit_roll_back_and_nest,
    a_dropped_transaction_rolls_back,
    scripts_cannot_reach_each_other_or_ferry,
    values_never_become_sql,
    slow_statements_stop_at_their_deadline,
    results_are_capped,
    the_quota_holds_and_deleting_still_works,
    wrong_argument_counts_are_clear,
    exec_runs_several_statements,
    same_text_in_two_scripts_means_their_own_tables,
    setting_up_from_many_workers_at_once_is_safe,
);

fn one(database: &mut ScriptDatabase, sql: &str, params: Vec<SqlValue>) -> SqlOutcome {
    match database.run(&[SqlStatement::new(sql, params)], TIME) {
        Ok(mut outcomes) => outcomes.remove(0),
        Err(error) => panic!("{sql}: {error}"),
    }
}

fn fails(database: &mut ScriptDatabase, sql: &str, params: Vec<SqlValue>) -> SqlError {
    match database.run(&[SqlStatement::new(sql, params)], TIME) {
        Ok(outcome) => panic!("{sql} ran: {outcome:?}"),
        Err(error) => error,
    }
}

fn text(value: &str) -> SqlValue {
    SqlValue::Text(value.into())
}

fn count(database: &mut ScriptDatabase, table: &str) -> i64 {
    let outcome = one(
        database,
        &format!("SELECT count(*) AS n FROM {table}"),
        vec![],
    );
    match outcome.rows[0][0] {
        SqlValue::Integer(n) => n,
        ref other => panic!("count: {other:?}"),
    }
}

fn notes_table(database: &mut ScriptDatabase) {
    one(
        database,
        "CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, score REAL, done BOOLEAN, data BYTEA)"
            .replace(
                "BYTEA",
                if database.dialect() == ferry_store::SqlDialect::Sqlite { "BLOB" } else { "BYTEA" },
            )
            .as_str(),
        vec![],
    );
}

fn values_round_trip(backend: Backend) {
    let mut db = backend.script("notes.js");
    notes_table(&mut db);
    let inserted = one(
        &mut db,
        "INSERT INTO notes (id, title, score, done, data) VALUES (?, ?, ?, ?, ?) RETURNING id",
        vec![
            SqlValue::Integer(7),
            text("héllo \"there\"\n"),
            SqlValue::Real(2.5),
            SqlValue::Boolean(true),
            SqlValue::Blob(vec![0, 1, 255]),
        ],
    );
    assert_eq!(inserted.rows, vec![vec![SqlValue::Integer(7)]]);
    assert_eq!(inserted.changes, 1);
    one(
        &mut db,
        "INSERT INTO notes (id, title, score, done, data) VALUES (?, ?, ?, ?, ?)",
        vec![
            SqlValue::Integer(8),
            text("empty"),
            SqlValue::Null,
            SqlValue::Boolean(false),
            SqlValue::Null,
        ],
    );
    let read = one(
        &mut db,
        "SELECT id, title, score, done, data FROM notes ORDER BY id",
        vec![],
    );
    assert_eq!(read.columns, ["id", "title", "score", "done", "data"]);
    assert_eq!(
        read.rows,
        vec![
            vec![
                SqlValue::Integer(7),
                text("héllo \"there\"\n"),
                SqlValue::Real(2.5),
                SqlValue::Boolean(true),
                SqlValue::Blob(vec![0, 1, 255]),
            ],
            vec![
                SqlValue::Integer(8),
                text("empty"),
                SqlValue::Null,
                SqlValue::Boolean(false),
                SqlValue::Null
            ],
        ]
    );
    let updated = one(
        &mut db,
        "UPDATE notes SET score = score * 2 WHERE score IS NOT NULL",
        vec![],
    );
    assert_eq!(updated.changes, 1);
    let json: serde_json::Value = serde_json::from_str(&read.to_json()).unwrap();
    assert_eq!(json["rows"][0][4], serde_json::json!([0, 1, 255]));
}

fn placeholders_are_portable(backend: Backend) {
    let mut db = backend.script("p.js");
    one(
        &mut db,
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)",
        vec![],
    );
    one(
        &mut db,
        "INSERT INTO kv VALUES (?, ?)",
        vec![text("a"), SqlValue::Integer(1)],
    );
    one(
        &mut db,
        "INSERT INTO kv VALUES ($1, $2)",
        vec![text("b"), SqlValue::Integer(2)],
    );
    one(
        &mut db,
        "INSERT INTO kv (v, k) VALUES (?2, ?1)",
        vec![text("c"), SqlValue::Integer(3)],
    );
    let read = one(
        &mut db,
        "SELECT k FROM kv WHERE v >= ?1 AND k <> ?2 ORDER BY k",
        vec![SqlValue::Integer(2), text("x")],
    );
    assert_eq!(read.rows, vec![vec![text("b")], vec![text("c")]]);
}

fn batches_are_all_or_nothing(backend: Backend) {
    let mut db = backend.script("batch.js");
    one(
        &mut db,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)",
        vec![],
    );
    let batch = [
        SqlStatement::new("INSERT INTO t (id, name) VALUES (1, 'a')", vec![]),
        SqlStatement::new("INSERT INTO t (id, name) VALUES (2, 'a')", vec![]),
    ];
    let error = db.run(&batch, TIME).unwrap_err();
    assert!(matches!(error, SqlError::Rejected(_)), "{error:?}");
    assert_eq!(count(&mut db, "t"), 0, "the first insert was undone");
    let good = [
        SqlStatement::new("INSERT INTO t (id, name) VALUES (1, 'a')", vec![]),
        SqlStatement::new("SELECT name FROM t", vec![]),
    ];
    let outcomes = db.run(&good, TIME).unwrap();
    assert_eq!(outcomes[1].rows, vec![vec![text("a")]]);
}

fn transactions_commit_roll_back_and_nest(backend: Backend) {
    let mut db = backend.script("tx.js");
    one(&mut db, "CREATE TABLE t (n INTEGER)", vec![]);
    let statement = |n: i64| {
        [SqlStatement::new(
            "INSERT INTO t VALUES (?)",
            vec![SqlValue::Integer(n)],
        )]
    };

    let mut tx = db.begin(TIME).unwrap();
    tx.run(&statement(1), TIME).unwrap();
    tx.savepoint(Savepoint::Create, "inner").unwrap();
    tx.run(&statement(2), TIME).unwrap();
    tx.savepoint(Savepoint::RollBack, "inner").unwrap();
    tx.savepoint(Savepoint::Release, "inner").unwrap();
    tx.run(&statement(3), TIME).unwrap();
    // A failing batch inside the transaction undoes itself only.
    let failing = [
        SqlStatement::new("INSERT INTO t VALUES (4)", vec![]),
        SqlStatement::new("INSERT INTO missing VALUES (5)", vec![]),
    ];
    assert!(tx.run(&failing, TIME).is_err());
    tx.commit().unwrap();
    let read = one(&mut db, "SELECT n FROM t ORDER BY n", vec![]);
    assert_eq!(
        read.rows,
        vec![vec![SqlValue::Integer(1)], vec![SqlValue::Integer(3)]]
    );

    let mut tx = db.begin(TIME).unwrap();
    tx.run(&statement(9), TIME).unwrap();
    tx.rollback().unwrap();
    assert_eq!(count(&mut db, "t"), 2);

    let mut tx = db.begin(TIME).unwrap();
    let error = tx
        .savepoint(Savepoint::Create, "x; DROP TABLE t")
        .unwrap_err();
    assert!(error.to_string().contains("savepoint name"), "{error}");
    tx.rollback().unwrap();
}

fn a_dropped_transaction_rolls_back(backend: Backend) {
    let mut db = backend.script("drop.js");
    one(&mut db, "CREATE TABLE t (n INTEGER)", vec![]);
    {
        let mut tx = db.begin(TIME).unwrap();
        tx.run(
            &[SqlStatement::new("INSERT INTO t VALUES (1)", vec![])],
            TIME,
        )
        .unwrap();
    }
    assert_eq!(count(&mut db, "t"), 0);
    // And the database is free for the next writer at once.
    one(&mut db, "INSERT INTO t VALUES (2)", vec![]);
    assert_eq!(count(&mut db, "t"), 1);
}

fn scripts_cannot_reach_each_other_or_ferry(backend: Backend) {
    let mut owner = backend.script("owner.js");
    one(&mut owner, "CREATE TABLE secrets (value TEXT)", vec![]);
    one(
        &mut owner,
        "INSERT INTO secrets VALUES ('the owner''s')",
        vec![],
    );
    let mut other = backend.script("other.js");
    let error = fails(&mut other, "SELECT * FROM secrets", vec![]);
    assert!(matches!(error, SqlError::Rejected(_)), "{error:?}");
    // Its own table of the same name is its own.
    one(&mut other, "CREATE TABLE secrets (value TEXT)", vec![]);
    assert_eq!(count(&mut other, "secrets"), 0);
    assert_eq!(count(&mut owner, "secrets"), 1);
    // Ferry's own tables are not in reach, by plain or qualified names.
    for sql in [
        "SELECT * FROM users",
        "SELECT * FROM sessions",
        "SELECT * FROM kv",
        "SELECT * FROM ferry.users",
        "SELECT * FROM main.kv",
        "SELECT * FROM script_owner_js_0000000000.secrets",
        "SELECT * FROM pg_tables",
        "SELECT * FROM sqlite_master m JOIN pg_namespace n ON true",
    ] {
        let error = fails(&mut other, sql, vec![]);
        assert!(
            matches!(error, SqlError::Refused(_) | SqlError::Rejected(_)),
            "{sql}: {error:?}"
        );
    }
}

fn values_never_become_sql(backend: Backend) {
    let mut db = backend.script("inject.js");
    one(&mut db, "CREATE TABLE notes (title TEXT)", vec![]);
    let hostile = [
        "'); DROP TABLE notes; --",
        "' OR '1'='1",
        "\"; DELETE FROM notes; --",
        "$1",
        "?",
        "\\x00",
        "1; SELECT * FROM ferry.users",
    ];
    for value in hostile {
        one(&mut db, "INSERT INTO notes VALUES (?)", vec![text(value)]);
    }
    let read = one(
        &mut db,
        "SELECT title FROM notes WHERE title = ?",
        vec![text("' OR '1'='1")],
    );
    assert_eq!(read.rows, vec![vec![text("' OR '1'='1")]]);
    assert_eq!(count(&mut db, "notes"), hostile.len() as i64);
    // Splicing into the SQL itself is caught by the guard: the second statement.
    let spliced = format!("SELECT * FROM notes WHERE title = '{}'", hostile[0]);
    assert!(matches!(
        fails(&mut db, &spliced, vec![]),
        SqlError::Refused(_)
    ));
}

fn slow_statements_stop_at_their_deadline(backend: Backend) {
    let mut db = backend.script("slow.js");
    let endless =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    let started = Instant::now();
    let error = db
        .run(
            &[SqlStatement::new(endless, vec![])],
            Duration::from_millis(300),
        )
        .unwrap_err();
    assert!(matches!(error, SqlError::Timeout(_)), "{error:?}");
    assert!(error.to_string().contains("300 ms"), "{error}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The connection is fine afterwards.
    let read = one(&mut db, "SELECT 1 AS one", vec![]);
    assert_eq!(read.rows, vec![vec![SqlValue::Integer(1)]]);
}

fn results_are_capped(backend: Backend) {
    let limits = SqlLimits {
        max_rows: 10,
        max_bytes: 1_000,
        ..SqlLimits::default()
    };
    let mut db = backend.limited("caps.js", limits);
    one(&mut db, "CREATE TABLE t (n INTEGER, padding TEXT)", vec![]);
    for n in 0..11 {
        one(
            &mut db,
            "INSERT INTO t VALUES (?, ?)",
            vec![SqlValue::Integer(n), text(&"x".repeat(150))],
        );
    }
    let error = fails(&mut db, "SELECT n FROM t", vec![]);
    assert!(matches!(error, SqlError::TooManyRows(10)), "{error:?}");
    assert!(error.to_string().contains("LIMIT"), "{error}");
    let error = fails(&mut db, "SELECT * FROM t LIMIT 10", vec![]);
    assert!(matches!(error, SqlError::TooLarge(1_000)), "{error:?}");
    assert_eq!(
        one(&mut db, "SELECT n FROM t LIMIT 10", vec![]).rows.len(),
        10
    );
}

fn the_quota_holds_and_deleting_still_works(backend: Backend) {
    let limits = SqlLimits {
        quota_bytes: 256 * 1024,
        ..SqlLimits::default()
    };
    let mut db = backend.limited("quota.js", limits);
    one(&mut db, "CREATE TABLE t (n INTEGER, padding TEXT)", vec![]);
    let mut refused = None;
    for n in 0..1_000 {
        // Text that does not compress (PostgreSQL would shrink a repeated letter).
        let padding = text(&noise(n as u64, 4_000));
        match db.run(
            &[SqlStatement::new(
                "INSERT INTO t VALUES (?, ?)",
                vec![SqlValue::Integer(n), padding],
            )],
            TIME,
        ) {
            Ok(_) => {}
            Err(error) => {
                refused = Some((n, error));
                break;
            }
        }
        if n % 20 == 0 {
            // PostgreSQL's size is measured at most once a second.
            std::thread::sleep(Duration::from_millis(if backend.store.is_shared() {
                60
            } else {
                0
            }));
        }
    }
    let (inserted, error) = refused.expect("the quota never held");
    assert!(matches!(error, SqlError::Quota(_)), "{error:?}");
    assert!(error.to_string().contains("quota"), "{error}");
    assert!(inserted > 10, "refused too early, after {inserted} rows");
    // Deleting makes room; the delete itself is never refused.
    let deleted = one(&mut db, "DELETE FROM t", vec![]);
    assert_eq!(deleted.changes, inserted as u64);
}

fn noise(seed: u64, length: usize) -> String {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'!' + (state % 90) as u8)
        })
        .collect()
}

fn wrong_argument_counts_are_clear(backend: Backend) {
    let mut db = backend.script("args.js");
    one(&mut db, "CREATE TABLE t (a TEXT, b TEXT)", vec![]);
    let error = fails(
        &mut db,
        "INSERT INTO t VALUES (?, ?)",
        vec![text("only one")],
    );
    assert!(
        error
            .to_string()
            .contains("2 placeholders and 1 value was bound"),
        "{error}"
    );
    let error = fails(&mut db, "SELECT * FROM t", vec![text("extra")]);
    assert!(error.to_string().contains("0 placeholders"), "{error}");
}

fn exec_runs_several_statements(backend: Backend) {
    let mut db = backend.script("exec.js");
    let ran = db
        .exec(
            "CREATE TABLE a (x INTEGER); CREATE INDEX a_x ON a (x); INSERT INTO a VALUES (1);",
            TIME,
        )
        .unwrap();
    assert_eq!(ran, 3);
    assert_eq!(count(&mut db, "a"), 1);
    // All or nothing.
    assert!(
        db.exec(
            "INSERT INTO a VALUES (2); INSERT INTO nowhere VALUES (3)",
            TIME
        )
        .is_err()
    );
    assert_eq!(count(&mut db, "a"), 1);
    assert!(matches!(
        db.exec("INSERT INTO a VALUES (2); DROP SCHEMA ferry CASCADE", TIME),
        Err(SqlError::Refused(_))
    ));
}

fn same_text_in_two_scripts_means_their_own_tables(backend: Backend) {
    let mut first = backend.script("first.js");
    let mut second = backend.script("second.js");
    one(&mut first, "CREATE TABLE t (a INTEGER)", vec![]);
    one(&mut second, "CREATE TABLE t (a TEXT, b TEXT)", vec![]);
    one(&mut first, "INSERT INTO t VALUES (1)", vec![]);
    one(&mut second, "INSERT INTO t VALUES ('x', 'y')", vec![]);
    for _ in 0..3 {
        assert_eq!(
            one(&mut first, "SELECT * FROM t", vec![]).rows,
            vec![vec![SqlValue::Integer(1)]]
        );
        assert_eq!(
            one(&mut second, "SELECT * FROM t", vec![]).rows,
            vec![vec![text("x"), text("y")]]
        );
    }
    // A table that changes shape under a prepared statement still reads right.
    one(&mut first, "ALTER TABLE t ADD COLUMN b TEXT", vec![]);
    let read = one(&mut first, "SELECT * FROM t", vec![]);
    assert_eq!(read.columns, ["a", "b"]);
}

fn setting_up_from_many_workers_at_once_is_safe(backend: Backend) {
    // Every worker (and node) runs init() on start: `IF NOT EXISTS` from all at once.
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let store = backend.store.clone();
                scope.spawn(move || {
                    let mut db = store
                        .script_database("setup.js", SqlLimits::default())
                        .unwrap();
                    db.exec(
                        "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT); \
                         CREATE INDEX IF NOT EXISTS items_by_name ON items (name)",
                        TIME,
                    )
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap().unwrap();
        }
    });
    let mut db = backend.script("setup.js");
    one(&mut db, "INSERT INTO items (name) VALUES ('x')", vec![]);
    assert_eq!(count(&mut db, "items"), 1);
}
