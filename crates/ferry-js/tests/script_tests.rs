//! Test files run by the engine (`ferry test`, `POST /engine/run_tests`): the test prelude
//! (describe/it/expect/assert, hooks, skip/only/todo), failures at the test file's line
//! (TypeScript's for `.ts`), a test that never ends failing alone, and every database
//! write rolled back — between tests and after the run.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use ferry_js::testing::{TestReport, TestStatus};
use ferry_js::{Limits, Script};
use support::TestApp;

async fn run(app: &TestApp, name: &str, source: &str) -> TestReport {
    app.engine
        .run_tests(Script::new(name, source), None)
        .await
        .unwrap_or_else(|error| panic!("{error}"))
}

fn status_of(report: &TestReport, name: &str) -> TestStatus {
    report
        .tests
        .iter()
        .find(|test| test.name == name)
        .unwrap_or_else(|| panic!("no test {name:?} in {report:#?}"))
        .status
}

#[tokio::test(flavor = "multi_thread")]
async fn the_prelude_runs_tests_and_reports_each() {
    let app = TestApp::new(&[]).await;
    let report = run(
        &app,
        "math.test.js",
        r#"
const order = [];
describe("math", () => {
  beforeAll(() => order.push("beforeAll"));
  beforeEach(() => order.push("beforeEach"));
  afterEach(() => order.push("afterEach"));
  afterAll(() => order.push("afterAll"));
  it("adds", () => {
    expect(1 + 1).toBe(2);
    expect({ a: [1, { b: 2 }], c: undefined }).toEqual({ a: [1, { b: 2 }] });
    expect({ a: 1 }).not.toStrictEqual({ a: 1, c: undefined });
    expect([1, 2, 3]).toContain(2);
    expect("hello world").toMatch(/wor/);
    expect({ user: { name: "Ann" } }).toHaveProperty("user.name", "Ann");
    expect(0.1 + 0.2).toBeCloseTo(0.3);
    expect(() => { throw new RangeError("too big"); }).toThrow(RangeError);
    expect(() => {}).not.toThrow();
    expect(new Map([[1, { x: 1 }]])).toEqual(new Map([[1, { x: 1 }]]));
    expect([{ id: 1, name: "a" }]).toMatchObject([{ id: 1 }]);
    assert(true);
    assert.deepEqual([1], [1]);
    assert.throws(() => JSON.parse("{"), SyntaxError);
  });
  it("waits", async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await expect(Promise.resolve(3)).resolves.toBe(3);
    await expect(Promise.reject(new Error("no"))).rejects.toThrow("no");
  });
  describe("inner", () => {
    it("fails", () => {
      expect({ a: 1 }).toEqual({ a: 2 });
    });
  });
  it.skip("is skipped", () => { throw new Error("ran"); });
  it.todo("is to do");
});
test("after the group", () => {
  order.push("test");
  expect(order).toEqual([
    "beforeAll", "beforeEach", "afterEach", "beforeEach", "afterEach",
    "beforeEach", "afterEach", "afterAll", "test",
  ]);
});
"#,
    )
    .await;
    assert_eq!(report.file, "math.test.js");
    assert_eq!(
        status_of(&report, "math > adds"),
        TestStatus::Passed,
        "{report:#?}"
    );
    assert_eq!(
        status_of(&report, "math > waits"),
        TestStatus::Passed,
        "{report:#?}"
    );
    assert_eq!(
        status_of(&report, "math > inner > fails"),
        TestStatus::Failed
    );
    assert_eq!(status_of(&report, "math > is skipped"), TestStatus::Skipped);
    assert_eq!(status_of(&report, "math > is to do"), TestStatus::Todo);
    assert_eq!(
        status_of(&report, "after the group"),
        TestStatus::Passed,
        "{report:#?}"
    );
    let failure = report.tests[2].error.as_ref().unwrap();
    assert_eq!(
        failure.message,
        "AssertionError: expected {a: 1} to equal {a: 2}"
    );
    assert_eq!(failure.line, Some(31), "{failure:#?}");
    assert!(!report.passed());
    assert_eq!(report.count(TestStatus::Failed), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn typescript_failures_point_at_typescript_lines_and_filters_choose_tests() {
    let app = TestApp::new(&[]).await;
    let source = "interface Pair {\n  a: number;\n  b: number;\n}\n\nconst sum = (pair: Pair): number => pair.a + pair.b;\n\ntest('sums', () => {\n  expect(sum({ a: 1, b: 2 })).toBe(4);\n});\ntest('other', () => {});\n";
    let report = run(&app, "sum.test.ts", source).await;
    let failure = report.tests[0].error.as_ref().unwrap();
    assert_eq!(failure.message, "AssertionError: expected 3 to be 4");
    assert_eq!(failure.line, Some(9), "{failure:#?}");
    assert!(failure.stack.contains("sum.test.ts:9"), "{}", failure.stack);
    let only_other = app
        .engine
        .run_tests(Script::new("sum.test.ts", source), Some("oth".into()))
        .await
        .unwrap();
    assert_eq!(only_other.tests.len(), 1);
    assert_eq!(only_other.tests[0].name, "other");
    // .only runs only the marked tests.
    let report = run(
        &app,
        "only.test.js",
        "test('a', () => { throw new Error('ran'); });\ntest.only('b', () => {});\n",
    )
    .await;
    assert_eq!(report.tests.len(), 1);
    assert_eq!(report.tests[0].name, "b");
}

/// Promises Ferry settles from outside JavaScript (a password hashed off the worker, a
/// GraphQL operation whose resolver runs on another worker) settle while a test waits.
#[tokio::test(flavor = "multi_thread")]
async fn tests_await_what_ferry_does_off_the_worker() {
    let schema = r#"graphQLRegistry.registerQuery("greeting", "greeting(name: String!): String", (c) => `hello ${c.args.name}`);"#;
    let app = TestApp::with(2, Limits::default(), false, &[("schema.js", schema)]).await;
    let report = run(
        &app,
        "host.test.js",
        r#"
test("hashes and verifies", async () => {
  const hash = await passwords.hash("correct horse", { memoryCost: 1024, timeCost: 1 });
  expect(hash).toMatch(/^\$argon2id\$/);
  expect(await passwords.verify("correct horse", hash)).toBe(true);
  expect(await passwords.verify("wrong", hash)).toBe(false);
});
test("runs a GraphQL operation", async () => {
  const answer = JSON.parse(await graphQLRegistry.executeGraphQL("{ greeting(name: \"Ann\") }"));
  expect(answer).toEqual({ data: { greeting: "hello Ann" } });
});
"#,
    )
    .await;
    assert_eq!(
        status_of(&report, "hashes and verifies"),
        TestStatus::Passed,
        "{report:#?}"
    );
    assert_eq!(
        status_of(&report, "runs a GraphQL operation"),
        TestStatus::Passed,
        "{report:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_that_never_ends_fails_alone() {
    let limits = Limits {
        call_timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let app = TestApp::with(1, limits, false, &[]).await;
    let report = run(
        &app,
        "slow.test.js",
        r#"
test("loops", () => { for (;;) {} });
test("hangs", () => new Promise(() => {}));
test("still runs", () => expect(1).toBe(1));
"#,
    )
    .await;
    assert_eq!(status_of(&report, "loops"), TestStatus::Failed);
    assert_eq!(status_of(&report, "hangs"), TestStatus::Failed);
    assert!(
        report.tests[1]
            .error
            .as_ref()
            .unwrap()
            .message
            .contains("timed out"),
        "{report:#?}"
    );
    assert_eq!(status_of(&report, "still runs"), TestStatus::Passed);
    // The worker serves scripts afterwards.
    app.engine
        .load(Script::new("hello.js", "register('/hi', () => 'hi');"))
        .await
        .unwrap();
    assert_eq!(app.text("/hi").await, (200, "hi".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn database_writes_are_rolled_back() {
    let app = TestApp::new(&[]).await;
    let source = r#"
await db.exec("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
await db.prepare("INSERT INTO notes (text) VALUES (?)").bind("from the top level").run();
const count = async () => (await db.prepare("SELECT count(*) AS n FROM notes").first()).n;
test("writes", async () => {
  await db.prepare("INSERT INTO notes (text) VALUES (?)").bind("one").run();
  await db.transaction(async (tx) => {
    await tx.prepare("INSERT INTO notes (text) VALUES (?)").bind("two").run();
  });
  expect(await count()).toBe(3);
});
test("starts from the top level's state", async () => {
  expect(await count()).toBe(1);
  database.beginTransaction();
  expect(JSON.parse(database.insert("notes", JSON.stringify({ text: "aiwebengine" }))).error).toBeUndefined();
  database.commitTransaction();
  expect(await count()).toBe(2);
});
test("cannot commit the run's transaction", () => {
  expect(JSON.parse(database.commitTransaction()).error).toMatch(/outermost transaction/);
});
export {};
"#;
    for _ in 0..2 {
        // The second run starts from nothing again: CREATE TABLE would fail otherwise.
        let report = run(&app, "notes.test.js", source).await;
        assert!(report.passed(), "{report:#?}");
    }
    // The script of that name sees no table at all.
    let app_report = run(
        &app,
        "notes.test.js",
        "test('no table', () => { expect(() => db.prepare('SELECT * FROM notes').all()).toThrow('no such table'); });",
    )
    .await;
    assert!(app_report.passed(), "{app_report:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_test_file_that_does_not_load_is_an_error_with_its_line() {
    let app = TestApp::new(&[]).await;
    let error = app
        .engine
        .run_tests(
            Script::new(
                "broken.test.js",
                "test('a', () => {});\n\nthrow new Error('top');\n",
            ),
            None,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("broken.test.js:3: "), "{error}");
    let error = app
        .engine
        .run_tests(Script::new("syntax.test.ts", "const x: = 1;\n"), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("syntax.test.ts:1: "), "{error}");
    // Tests declare at load, not while running.
    let report = run(
        &app,
        "late.test.js",
        "test('declares late', () => { test('x', () => {}); });",
    )
    .await;
    assert_eq!(report.tests[0].status, TestStatus::Failed);
}
