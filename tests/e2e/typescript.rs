//! The TypeScript example as a user runs it: `ferry run` serves its TSX page and JSON API,
//! and `ferry test` runs its tests (exit 0); failing tests and a test file that does not
//! parse exit 1 and name the file and line.

use std::path::Path;
use std::time::Duration;

use crate::support::{examples, ferry_command, output_within, run_app};

#[tokio::test]
async fn the_typescript_example_serves_pages_and_json() {
    let data = tempfile::tempdir().unwrap();
    let ferry = run_app(&examples().join("typescript"), data.path(), &[]);
    let client = reqwest::Client::new();
    let added = client
        .post(ferry.url("/links"))
        .header("accept", "application/json")
        .form(&[
            ("title", "Ferry <docs>"),
            ("url", "https://example.com/docs"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let link: serde_json::Value = serde_json::from_str(&added.text().await.unwrap()).unwrap();
    assert_eq!(link["slug"], "ferry-docs");
    let refused = client
        .post(ferry.url("/links"))
        .form(&[("title", "x"), ("url", "javascript:alert(1)")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let page = client.get(ferry.url("/")).send().await.unwrap();
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<a href=\"https://example.com/docs\">Ferry &lt;docs&gt;</a>"),
        "{html}"
    );
    let listed = client
        .get(ferry.url("/api/links"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

fn ferry_test(app: &Path, data: &Path) -> (Option<i32>, String) {
    ferry_test_with(app, data, &[])
}

fn ferry_test_with(app: &Path, data: &Path, flags: &[&str]) -> (Option<i32>, String) {
    let mut command = ferry_command();
    command
        .arg("test")
        .arg(app)
        .arg("--data-dir")
        .arg(data)
        .args(flags);
    let output = output_within(command, Duration::from_secs(60));
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn ferry_test_passes_the_examples_tests_and_fails_with_file_and_line() {
    let data = tempfile::tempdir().unwrap();
    let (code, output) = ferry_test(&examples().join("typescript"), data.path());
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("ok | 7 passed | 0 failed"), "{output}");
    assert!(
        output.contains("storage > starts each test from an empty table ... ok"),
        "{output}"
    );

    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("math.test.ts"),
        "type N = number;\n\ntest(\"adds\", () => expect(1 + 1).toBe(2));\ntest(\"is wrong\", () => {\n  const n: N = 2;\n  expect(n).toBe(3);\n});\n",
    )
    .unwrap();
    std::fs::write(
        app.path().join("broken.test.js"),
        "test(\"x\", () => {});\nconst = 1;\n",
    )
    .unwrap();
    let (code, output) = ferry_test(app.path(), data.path());
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("math.test.ts:6: is wrong"), "{output}");
    assert!(
        output.contains("AssertionError: expected 2 to be 3"),
        "{output}"
    );
    assert!(output.contains("broken.test.js:2: "), "{output}");
    assert!(
        output.contains("FAILED | 1 passed | 1 failed | 1 file did not load"),
        "{output}"
    );
    // No stack frame of Ferry's own test prelude.
    assert!(!output.contains("eval_script"), "{output}");

    let (code, output) = ferry_test(&examples().join("hello"), data.path());
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("holds no test file"), "{output}");
}

/// `ferry test` loads the app's own scripts before the tests (unless `--no-app`): a test
/// runs a GraphQL operation against the schema the app registers; a broken app script
/// stops the run with its file.
#[test]
fn ferry_test_loads_the_app_before_its_tests() {
    let data = tempfile::tempdir().unwrap();
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("schema.js"),
        r#"graphQLRegistry.registerQuery("greeting", "greeting(name: String!): String", (c) => `hello ${c.args.name}`);"#,
    )
    .unwrap();
    std::fs::write(
        app.path().join("schema.test.js"),
        r#"test("asks the app", async () => {
  const answer = JSON.parse(await graphQLRegistry.executeGraphQL('{ greeting(name: "Ann") }'));
  expect(answer).toEqual({ data: { greeting: "hello Ann" } });
});
"#,
    )
    .unwrap();
    let workers = ["--workers", "2"];
    let (code, output) = ferry_test_with(app.path(), data.path(), &workers);
    assert_eq!(code, Some(0), "{output}");
    assert!(output.contains("asks the app ... ok"), "{output}");

    let (code, output) = ferry_test_with(app.path(), data.path(), &["--workers", "2", "--no-app"]);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("asks the app ... FAILED"), "{output}");

    // One test file given: the scripts beside it are the app.
    let (code, output) = ferry_test_with(&app.path().join("schema.test.js"), data.path(), &workers);
    assert_eq!(code, Some(0), "{output}");

    std::fs::write(
        app.path().join("broken.js"),
        "register(\"/x\", () => 1);\nconst = 1;\n",
    )
    .unwrap();
    let (code, output) = ferry_test_with(app.path(), data.path(), &workers);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("broken.js"), "{output}");
    assert!(output.contains("--no-app"), "{output}");
}
