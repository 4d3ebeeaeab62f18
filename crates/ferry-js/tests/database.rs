//! SQL from scripts through a real server, on SQLite and on a real PostgreSQL: `db`
//! (shaped like Cloudflare D1) and aiwebengine's `database`, their transactions, the
//! isolation between scripts, and hostile input through every argument.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;
use std::time::Duration;

use ferry_js::{EngineOptions, Limits};
use ferry_store::testing::PostgresCluster;
use ferry_store::{PostgresOptions, Store};
use serde_json::{Value, json};
use support::TestApp;

#[derive(Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn store(self) -> Option<Store> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let url = PostgresCluster::shared().create_database();
                Some(Store::postgres(&PostgresOptions::new(url)).unwrap())
            }
        }
    }

    async fn app(self, scripts: &[(&str, &str)]) -> TestApp {
        self.app_with(Limits::default(), scripts).await
    }

    async fn app_with(self, limits: Limits, scripts: &[(&str, &str)]) -> TestApp {
        let options = EngineOptions {
            workers: 2,
            limits,
            ..EngineOptions::default()
        };
        let store = tokio::task::spawn_blocking(move || self.store())
            .await
            .unwrap();
        TestApp::with_store(options, store, scripts).await
    }
}

macro_rules! on_both_back_ends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::Backend::Sqlite).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                super::$name(super::Backend::Postgres).await;
            })*
        }
    };
}

on_both_back_ends!(
    d1_statements_bind_and_read,
    d1_batches_and_transactions_are_atomic,
    aiwebengine_crud_and_filters,
    aiwebengine_transactions_follow_the_handler,
    leases_are_held_by_one_owner,
    graphql_is_generated_for_a_table,
    one_script_cannot_reach_another,
    hostile_input_through_every_argument_stays_data,
    slow_sql_stops_with_the_call,
);

async fn json_of(app: &TestApp, path: &str) -> Value {
    let (status, body) = app.text(path).await;
    assert_eq!(status, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|_| panic!("{path}: not JSON: {body}"))
}

const NOTES: &str = r#"
async function init() {
  await db.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, title TEXT NOT NULL, stars INTEGER, done BOOLEAN)");
}
register("/add", async (c) => {
  const q = c.request.query;
  const row = await db.prepare("INSERT INTO notes (title, stars, done) VALUES (?, ?, ?) RETURNING id")
    .bind(q.title, Number(q.stars ?? 0), q.done === "yes").first();
  return ResponseBuilder.json(row);
});
register("/all", async () => ResponseBuilder.json(await db.prepare("SELECT id, title, stars, done FROM notes ORDER BY id").all()));
register("/first-title", async () => ResponseBuilder.json({ title: await db.prepare("SELECT title FROM notes ORDER BY id").first("title") }));
register("/raw", async () => ResponseBuilder.json(await db.prepare("SELECT id, title FROM notes ORDER BY id").raw({ columnNames: true })));
register("/find", async (c) => ResponseBuilder.json(await db.prepare("SELECT title FROM notes WHERE title = ?1 OR stars > $2").bind(c.request.query.title, 100).all()));
register("/none", async () => ResponseBuilder.json({ row: await db.prepare("SELECT * FROM notes WHERE id = ?").bind(-1).first() }));
register("/dialect", () => db.dialect);
"#;

async fn d1_statements_bind_and_read(backend: Backend) {
    let app = backend.app(&[("notes.js", NOTES)]).await;
    assert_eq!(
        json_of(&app, "/add?title=first&stars=3&done=yes").await,
        json!({ "id": 1 })
    );
    assert_eq!(json_of(&app, "/add?title=second").await, json!({ "id": 2 }));
    let all = json_of(&app, "/all").await;
    assert_eq!(all["success"], true);
    assert_eq!(
        all["results"],
        json!([
            { "id": 1, "title": "first", "stars": 3, "done": true },
            { "id": 2, "title": "second", "stars": 0, "done": false },
        ])
    );
    assert_eq!(all["meta"]["rows_read"], 2);
    assert_eq!(
        json_of(&app, "/first-title").await,
        json!({ "title": "first" })
    );
    assert_eq!(
        json_of(&app, "/raw").await,
        json!([["id", "title"], [1, "first"], [2, "second"]])
    );
    assert_eq!(
        json_of(&app, "/find?title=second").await["results"],
        json!([{ "title": "second" }])
    );
    assert_eq!(json_of(&app, "/none").await, json!({ "row": null }));
    let dialect = app.text("/dialect").await.1;
    assert_eq!(
        dialect,
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
}

const LEDGER: &str = r#"
async function init() {
  await db.exec("CREATE TABLE IF NOT EXISTS accounts (name TEXT PRIMARY KEY, balance INTEGER NOT NULL CHECK (balance >= 0))");
  await db.batch([
    db.prepare("INSERT INTO accounts VALUES ('alice', 100) ON CONFLICT (name) DO NOTHING"),
    db.prepare("INSERT INTO accounts VALUES ('bob', 0) ON CONFLICT (name) DO NOTHING"),
  ]);
}
const move = (from, to, amount) => [
  db.prepare("UPDATE accounts SET balance = balance + ? WHERE name = ?").bind(amount, to),
  db.prepare("UPDATE accounts SET balance = balance - ? WHERE name = ?").bind(amount, from),
];
register("/batch", async (c) => {
  try {
    const results = await db.batch(move("alice", "bob", Number(c.request.query.amount)));
    return ResponseBuilder.json({ ok: true, changes: results.map((r) => r.meta.changes) });
  } catch (e) {
    return ResponseBuilder.json({ ok: false, error: e.message });
  }
});
register("/transfer", async (c) => {
  const amount = Number(c.request.query.amount);
  try {
    return ResponseBuilder.json(await db.transaction(async (tx) => {
      await tx.prepare("UPDATE accounts SET balance = balance + ? WHERE name = 'bob'").bind(amount).run();
      const alice = await tx.prepare("SELECT balance FROM accounts WHERE name = 'alice'").first("balance");
      if (alice < amount) throw new Error("not enough money");
      await tx.prepare("UPDATE accounts SET balance = balance - ? WHERE name = 'alice'").bind(amount).run();
      // A nested transaction is a savepoint: its failure undoes it alone.
      try {
        await tx.transaction(async (inner) => {
          await inner.prepare("UPDATE accounts SET balance = 999 WHERE name = 'alice'").run();
          throw new Error("inner failure");
        });
      } catch {}
      return { ok: true };
    }));
  } catch (e) {
    return ResponseBuilder.json({ ok: false, error: e.message });
  }
});
register("/leak", async () => {
  // Never awaited to the end: the call ends with the transaction open.
  db.transaction(async (tx) => {
    await tx.prepare("UPDATE accounts SET balance = 0").run();
    await new Promise(() => {});
  });
  return "left open";
});
register("/balances", async () => ResponseBuilder.json(await db.prepare("SELECT name, balance FROM accounts ORDER BY name").raw()));
"#;

async fn d1_batches_and_transactions_are_atomic(backend: Backend) {
    let app = backend.app(&[("ledger.js", LEDGER)]).await;
    let ok = json_of(&app, "/batch?amount=30").await;
    assert_eq!(ok, json!({ "ok": true, "changes": [1, 1] }));
    let refused = json_of(&app, "/batch?amount=500").await;
    assert_eq!(refused["ok"], false, "{refused}");
    assert_eq!(
        json_of(&app, "/balances").await,
        json!([["alice", 70], ["bob", 30]])
    );

    assert_eq!(
        json_of(&app, "/transfer?amount=20").await,
        json!({ "ok": true })
    );
    assert_eq!(
        json_of(&app, "/balances").await,
        json!([["alice", 50], ["bob", 50]])
    );
    let failed = json_of(&app, "/transfer?amount=80").await;
    assert_eq!(failed, json!({ "ok": false, "error": "not enough money" }));
    assert_eq!(
        json_of(&app, "/balances").await,
        json!([["alice", 50], ["bob", 50]])
    );

    assert_eq!(app.text("/leak").await.1, "left open");
    assert_eq!(
        json_of(&app, "/balances").await,
        json!([["alice", 50], ["bob", 50]]),
        "a transaction left open when its call ended is rolled back"
    );
}

const PEOPLE: &str = r#"
function init() {
  for (let i = 0; i < 2; i++) {  // twice: setting up is idempotent
    database.createTable("people");
    database.addTextColumn("people", "name", false, "nobody");
    database.addIntegerColumn("people", "age", true);
    database.addBooleanColumn("people", "active", false, "true");
    database.addTimestampColumn("people", "joined", false, "NOW()");
    database.addFloatColumn("people", "score", true);
    database.addUniqueIndex("people", JSON.stringify(["name"]));
    database.createTable("pets");
    database.addTextColumn("pets", "kind", true);
    database.addReferenceColumn("pets", "owner", "people", true);
  }
}
const q = (c, key) => c.request.query[key];
register("/insert", (c) => database.insert("people", q(c, "data")));
register("/query", (c) => database.query("people", q(c, "filters") ?? null, q(c, "limit") ? Number(q(c, "limit")) : undefined, q(c, "order"), q(c, "dir")));
register("/update", (c) => database.update("people", Number(q(c, "id")), q(c, "data")));
register("/delete", (c) => database.delete("people", Number(q(c, "id"))));
register("/upsert", (c) => database.upsert("people", q(c, "keys"), q(c, "data")));
register("/delete-where", (c) => database.deleteWhere("people", q(c, "filters") ?? null));
register("/pet", (c) => database.insert("pets", q(c, "data")));
register("/drop-column", (c) => database.dropColumn(q(c, "table"), q(c, "column")));
register("/create-table", (c) => database.createTable(q(c, "table")));
register("/drop-table", (c) => database.dropTable(q(c, "table")));
"#;

fn query(path: &str, pairs: &[(&str, &str)]) -> String {
    let url = reqwest::Url::parse_with_params(&format!("http://localhost{path}"), pairs).unwrap();
    format!("{}?{}", url.path(), url.query().unwrap_or(""))
}

async fn aiwebengine_crud_and_filters(backend: Backend) {
    let app = backend.app(&[("people.js", PEOPLE)]).await;
    for (name, age) in [("ann", 31), ("bo", 25), ("cy", 40)] {
        let data = json!({ "name": name, "age": age, "score": 1.5 }).to_string();
        let row = json_of(&app, &query("/insert", &[("data", &data)])).await;
        assert_eq!(row["name"], name);
        assert_eq!(row["active"], true, "{row}");
        assert!(row["joined"].as_str().unwrap().starts_with("20"), "{row}");
    }
    let older = json_of(
        &app,
        &query(
            "/query",
            &[
                ("filters", r#"{"age": {"$gt": 26, "$lte": 40}}"#),
                ("order", "age"),
                ("dir", "desc"),
            ],
        ),
    )
    .await;
    let names: Vec<&str> = older
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cy", "ann"]);
    let not_bo = json_of(
        &app,
        &query(
            "/query",
            &[
                ("filters", r#"{"name": {"$ne": "bo"}}"#),
                ("limit", "1"),
                ("order", "id"),
            ],
        ),
    )
    .await;
    assert_eq!(not_bo.as_array().unwrap().len(), 1);
    assert_eq!(not_bo[0]["name"], "ann");

    let updated = json_of(
        &app,
        &query("/update", &[("id", "2"), ("data", r#"{"age": 26}"#)]),
    )
    .await;
    assert_eq!(updated["age"], 26);
    let missing = json_of(
        &app,
        &query("/update", &[("id", "99"), ("data", r#"{"age": 1}"#)]),
    )
    .await;
    assert!(
        missing["error"].as_str().unwrap().contains("no row"),
        "{missing}"
    );

    let upserted = json_of(
        &app,
        &query(
            "/upsert",
            &[
                ("keys", r#"["name"]"#),
                ("data", r#"{"name": "ann", "age": 32}"#),
            ],
        ),
    )
    .await;
    assert_eq!(
        (upserted["id"].clone(), upserted["age"].clone()),
        (json!(1), json!(32))
    );
    let duplicate = json_of(&app, &query("/insert", &[("data", r#"{"name": "ann"}"#)])).await;
    assert!(
        duplicate["error"].is_string(),
        "the unique index holds: {duplicate}"
    );

    let pet = json_of(
        &app,
        &query("/pet", &[("data", r#"{"kind": "cat", "owner": 1}"#)]),
    )
    .await;
    assert_eq!(pet["owner"], 1);
    let orphan = json_of(
        &app,
        &query("/pet", &[("data", r#"{"kind": "dog", "owner": 77}"#)]),
    )
    .await;
    assert!(orphan["error"].is_string(), "the reference holds: {orphan}");

    let everything = json_of(&app, "/delete-where").await;
    assert!(
        everything["error"]
            .as_str()
            .unwrap()
            .contains("at least one filter"),
        "{everything}"
    );
    let pruned = json_of(
        &app,
        &query("/delete-where", &[("filters", r#"{"age": {"$lt": 30}}"#)]),
    )
    .await;
    assert_eq!(pruned, json!({ "success": true, "deleted": 1 }));
    assert_eq!(
        json_of(&app, "/delete?id=3").await,
        json!({ "success": true, "deleted": true })
    );
    assert_eq!(
        json_of(&app, "/delete?id=3").await,
        json!({ "success": true, "deleted": false })
    );

    assert_eq!(
        json_of(&app, "/drop-column?table=people&column=score").await,
        json!({ "success": true, "tableName": "people", "columnName": "score", "dropped": true })
    );
    assert_eq!(
        json_of(&app, "/create-table?table=extra").await["success"],
        true
    );
    assert_eq!(
        json_of(&app, "/drop-table?table=extra").await["dropped"],
        true
    );
    assert_eq!(
        json_of(&app, "/drop-table?table=extra").await["dropped"],
        false
    );
}

const COUNTER: &str = r#"
function init() {
  database.createTable("events");
  database.addTextColumn("events", "what", false);
}
const count = () => JSON.parse(database.query("events", null, 1000)).length;
register("/commit", () => {
  database.beginTransaction();
  database.insert("events", JSON.stringify({ what: "kept" }));
  return "returned";
});
register("/throw", () => {
  database.beginTransaction(2000);
  database.insert("events", JSON.stringify({ what: "lost" }));
  throw new Error("the handler failed");
});
register("/nested", () => {
  database.beginTransaction();
  database.insert("events", JSON.stringify({ what: "outer" }));
  const inner = JSON.parse(database.beginTransaction());
  database.insert("events", JSON.stringify({ what: "inner" }));
  database.rollbackTransaction();
  const sp = JSON.parse(database.createSavepoint("named"));
  database.insert("events", JSON.stringify({ what: "named" }));
  database.rollbackToSavepoint("named");
  database.releaseSavepoint("named");
  database.commitTransaction();
  return JSON.stringify({ inner: inner.message, savepoint: sp.savepoint, count: count() });
});
register("/count", () => String(count()));
register("/what", () => JSON.stringify(JSON.parse(database.query("events", null, 1000, "id")).map((r) => r.what)));
"#;

async fn aiwebengine_transactions_follow_the_handler(backend: Backend) {
    let app = backend.app(&[("counter.js", COUNTER)]).await;
    assert_eq!(app.text("/commit").await, (200, "returned".into()));
    assert_eq!(app.text("/count").await.1, "1");
    assert_eq!(app.text("/throw").await.0, 500);
    assert_eq!(
        app.text("/count").await.1,
        "1",
        "rolled back when the handler threw"
    );
    let nested = json_of(&app, "/nested").await;
    assert_eq!(nested["savepoint"], "named");
    assert!(
        nested["inner"].as_str().unwrap().contains("savepoint"),
        "{nested}"
    );
    assert_eq!(json_of(&app, "/what").await, json!(["kept", "outer"]));
}

const LEASES: &str = r#"
function init() { database.createLeaseTable("leases"); }
register("/lease", (c) => database.acquireLease("leases", "tick", c.request.query.owner, Number(c.request.query.ttl)));
"#;

async fn leases_are_held_by_one_owner(backend: Backend) {
    let app = backend.app(&[("leases.js", LEASES)]).await;
    let first = json_of(&app, "/lease?owner=a&ttl=400").await;
    assert_eq!(
        (first["acquired"].clone(), first["owner"].clone()),
        (json!(true), json!("a"))
    );
    let other = json_of(&app, "/lease?owner=b&ttl=400").await;
    assert_eq!(
        (other["acquired"].clone(), other["owner"].clone()),
        (json!(false), json!("a"))
    );
    let renewed = json_of(&app, "/lease?owner=a&ttl=400").await;
    assert_eq!(renewed["acquired"], true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let taken = json_of(&app, "/lease?owner=b&ttl=400").await;
    assert_eq!(
        (taken["acquired"].clone(), taken["owner"].clone()),
        (json!(true), json!("b"))
    );
}

const BOOKS: &str = r#"
function init() {
  database.createTable("books");
  database.addTextColumn("books", "title", false, "untitled");
  database.addIntegerColumn("books", "pages", true);
  database.generateGraphQLForTable("books", JSON.stringify({ visibility: "external" }));
}
register("/gql", async (c) => ResponseBuilder.json(JSON.parse(await graphQLRegistry.executeGraphQL(c.request.query.q))));
"#;

async fn graphql_is_generated_for_a_table(backend: Backend) {
    let app = backend.app(&[("books.js", BOOKS)]).await;
    let created = json_of(
        &app,
        &query(
            "/gql",
            &[(
                "q",
                r#"mutation { createBook(title: "Dune", pages: 412) { id title pages } }"#,
            )],
        ),
    )
    .await;
    assert_eq!(
        created["data"]["createBook"],
        json!({ "id": "1", "title": "Dune", "pages": 412 }),
        "{created}"
    );
    let listed = json_of(
        &app,
        &query(
            "/gql",
            &[("q", "{ listBooks { title } getBook(id: 1) { pages } }")],
        ),
    )
    .await;
    assert_eq!(
        listed["data"],
        json!({ "listBooks": [{ "title": "Dune" }], "getBook": { "pages": 412 } }),
        "{listed}"
    );
    let deleted = json_of(
        &app,
        &query("/gql", &[("q", "mutation { deleteBook(id: 1) }")]),
    )
    .await;
    assert_eq!(deleted["data"]["deleteBook"], true, "{deleted}");
}

const OWNER: &str = r#"
async function init() {
  await db.exec("CREATE TABLE IF NOT EXISTS secrets (value TEXT)");
  // init() runs on every worker: insert once.
  await db.prepare("INSERT INTO secrets SELECT 'owner only' WHERE NOT EXISTS (SELECT 1 FROM secrets)").run();
}
register("/owner", async () => String(await db.prepare("SELECT count(*) AS n FROM secrets").first("n")));
"#;

const INTRUDER: &str = r#"
register("/try", async (c) => {
  try {
    const result = await db.prepare(c.request.query.sql).all();
    return "read " + JSON.stringify(result.results);
  } catch (e) {
    return "refused: " + e.message;
  }
});
register("/try-aiwebengine", () => database.query("secrets"));
"#;

async fn one_script_cannot_reach_another(backend: Backend) {
    let app = backend
        .app(&[("owner.js", OWNER), ("intruder.js", INTRUDER)])
        .await;
    assert_eq!(app.text("/owner").await.1, "1");
    for sql in [
        "SELECT * FROM secrets",
        "SELECT * FROM script_owner_js_0000000000.secrets",
        "SELECT * FROM ferry.kv",
        "SELECT * FROM kv",
        "SELECT * FROM users",
        "SELECT * FROM main.kv",
        "SELECT query_to_xml('select * from secrets', true, true, '')",
        "SELECT * FROM pg_tables",
        "SELECT set_config('search_path', 'ferry', true)",
    ] {
        let (status, body) = app.text(&query("/try", &[("sql", sql)])).await;
        assert_eq!(status, 200);
        assert!(body.starts_with("refused: "), "{sql}: {body}");
    }
    let aiwebengine: Value = serde_json::from_str(&app.text("/try-aiwebengine").await.1).unwrap();
    assert!(aiwebengine["error"].is_string(), "{aiwebengine}");
}

async fn hostile_input_through_every_argument_stays_data(backend: Backend) {
    let app = backend.app(&[("people.js", PEOPLE)]).await;
    let evil = [
        r#"people"; DROP TABLE people; --"#,
        "people; DROP TABLE people",
        "people WHERE 1=1",
        "ferry.users",
        "pg_authid",
        "\"people\"",
        "People",
        "",
    ];
    for name in evil {
        let mut paths = vec![
            query("/drop-column", &[("table", name), ("column", "age")]),
            query("/drop-column", &[("table", "people"), ("column", name)]),
            query("/create-table", &[("table", name)]),
            query("/drop-table", &[("table", name)]),
            query("/query", &[("filters", &json!({ name: 1 }).to_string())]),
            query(
                "/query",
                &[("filters", &json!({ "age": { name: 1 } }).to_string())],
            ),
            query("/insert", &[("data", &json!({ name: "x" }).to_string())]),
            query(
                "/upsert",
                &[
                    ("keys", &json!([name]).to_string()),
                    ("data", &json!({ name: "x" }).to_string()),
                ],
            ),
            query(
                "/delete-where",
                &[("filters", &json!({ name: 1 }).to_string())],
            ),
        ];
        if !name.is_empty() {
            // (An empty order means no order.)
            paths.push(query("/query", &[("order", name)]));
        }
        for path in paths {
            let answer = json_of(&app, &path).await;
            assert!(
                answer.get("error").is_some_and(Value::is_string),
                "{path}: {answer}"
            );
        }
    }
    for (key, value) in [
        ("dir", "desc; DROP TABLE people"),
        ("limit", "1; DROP TABLE people"),
        ("limit", "-1"),
    ] {
        let path = query("/query", &[("order", "id"), (key, value)]);
        let answer = json_of(&app, &path).await;
        assert!(answer["error"].is_string(), "{path}: {answer}");
    }
    // Values are values, whatever they hold.
    for value in evil {
        let data = json!({ "name": format!("v{value}"), "age": 1 }).to_string();
        let row = json_of(&app, &query("/insert", &[("data", &data)])).await;
        assert_eq!(row["name"], format!("v{value}"), "{row}");
        let found = json_of(
            &app,
            &query(
                "/query",
                &[(
                    "filters",
                    &json!({ "name": format!("v{value}") }).to_string(),
                )],
            ),
        )
        .await;
        assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    }
    let all = json_of(&app, &query("/query", &[("limit", "1000")])).await;
    assert_eq!(
        all.as_array().unwrap().len(),
        evil.len(),
        "the table is whole"
    );
}

const SLOW: &str = r#"
register("/slow", async () => {
  const started = Date.now();
  try {
    await db.prepare("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c").all();
    return "finished";
  } catch (e) {
    return JSON.stringify({ error: e.message, ms: Date.now() - started });
  }
});
"#;

async fn slow_sql_stops_with_the_call(backend: Backend) {
    let limits = Limits {
        call_timeout: Duration::from_millis(400),
        ..Limits::default()
    };
    let app = backend.app_with(limits, &[("slow.js", SLOW)]).await;
    let (status, body) = app.text("/slow").await;
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{body}"));
    assert!(
        answer["error"].as_str().unwrap().contains("time limit"),
        "{answer}"
    );
    assert!(answer["ms"].as_u64().unwrap() < 1_000, "{answer}");
}

const WAITING: &str = r#"
register("/slow", async () => {
  try {
    await db.prepare("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c").all();
    return "finished";
  } catch (e) {
    return "stopped";
  }
});
register("/quick", () => "quick");
register("/count", async () => String((await db.prepare("SELECT 1 + 1 AS two").first("two"))));
"#;

/// On PostgreSQL a statement outside a transaction waits off the worker: one worker still
/// answers other calls — and other statements — while a slow one runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_worker_goes_on_while_postgres_answers() {
    let options = EngineOptions {
        workers: 1,
        limits: Limits {
            call_timeout: Duration::from_millis(1500),
            ..Limits::default()
        },
        ..EngineOptions::default()
    };
    let store = tokio::task::spawn_blocking(|| Backend::Postgres.store())
        .await
        .unwrap();
    let app = Arc::new(TestApp::with_store(options, store, &[("waiting.js", WAITING)]).await);
    let slow = {
        let app = app.clone();
        tokio::spawn(async move { app.text("/slow").await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = std::time::Instant::now();
    assert_eq!(app.text("/quick").await, (200, "quick".to_owned()));
    assert_eq!(app.text("/count").await, (200, "2".to_owned()));
    let took = started.elapsed();
    assert!(
        took < Duration::from_millis(700),
        "took {took:?}: the worker waited"
    );
    assert_eq!(slow.await.unwrap(), (200, "stopped".to_owned()));
}
