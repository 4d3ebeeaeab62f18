//! TypeScript, TSX and JSX scripts: an app in TypeScript importing TypeScript (with and
//! without extensions), JSX rendered to escaped HTML, and errors — a syntax error, a throw
//! at top level, a throw in a handler — that name the TypeScript line.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use ferry_js::watch::ScriptFiles;
use ferry_js::{Limits, Script};
use support::TestApp;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

async fn load_file(app: &TestApp, file: &Path) -> Result<(), String> {
    let script = ScriptFiles::new(file)
        .unwrap()
        .read_all()
        .unwrap()
        .remove(0);
    app.engine
        .load(script)
        .await
        .map(|_| ())
        .map_err(|error| error.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_typescript_app_with_imports_runs() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.ts",
        r#"
import type { Greeting } from "./lib/types.ts";
import { greet, Tone } from "./lib/greet";
import { shout } from "./lib/shout.ts";
import { Page, made } from "./views/page.tsx";

interface Query { name?: string }

export function init(): void {}

register("/hello", (context: { request: { query: Query } }): string => {
  const greeting: Greeting = greet(context.request.query.name ?? "world", Tone.Warm);
  return shout(greeting.text);
});
register("/page", (context: any) => Page({ who: context.request.query.name ?? "<you>" }));
register("/wrapped", () => ({ status: 201, body: made() }));
"#,
    );
    write(
        dir.path(),
        "lib/types.ts",
        "export interface Greeting { text: string }\n",
    );
    write(
        dir.path(),
        "lib/greet.ts",
        r#"
import type { Greeting } from "./types.ts";
export enum Tone { Plain, Warm }
export function greet(name: string, tone: Tone = Tone.Plain): Greeting {
  return { text: tone === Tone.Warm ? `Hello, ${name}` : name };
}
"#,
    );
    write(
        dir.path(),
        "lib/shout.ts",
        "export const shout = (text: string): string => `${text}!`;\n",
    );
    write(
        dir.path(),
        "views/page.tsx",
        r#"
type Props = { who: string };
const Item = ({ children }: { children?: unknown }) => <li class="item">{children}</li>;
export const Page = ({ who }: Props) => (
  <>
    <h1 title={who}>Hi {who}</h1>
    <ul>{[1, 2].map((n) => <Item>{n}</Item>)}</ul>
    <input disabled value="x" />
  </>
);
export const made = () => <em>made</em>;
"#,
    );
    let app = TestApp::new(&[]).await;
    load_file(&app, &dir.path().join("main.ts")).await.unwrap();
    assert_eq!(
        app.text("/hello?name=Ann").await,
        (200, "Hello, Ann!".into())
    );
    let response = app.get("/page?name=%3Cb%3E").await;
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(
        response.text().await.unwrap(),
        "<h1 title=\"&lt;b&gt;\">Hi &lt;b&gt;</h1><ul><li class=\"item\">1</li><li class=\"item\">2</li></ul><input disabled value=\"x\">"
    );
    let response = app.get("/wrapped").await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(response.text().await.unwrap(), "<em>made</em>");
}

#[tokio::test(flavor = "multi_thread")]
async fn jsx_scripts_and_scripts_of_their_own_h() {
    let app = TestApp::new(&[
        (
            "card.jsx",
            r#"
const Card = (props) => <div class={props.kind} data-n={3}>{props.children}</div>;
register("/card", () => String(<Card kind="note"><p>a &amp; b</p>{"<i>"}{null}{false}</Card>));
"#,
        ),
        (
            "own.js",
            "function h() { return 'mine'; }\nregister('/own', () => h());",
        ),
    ])
    .await;
    assert_eq!(
        app.text("/card").await.1,
        "<div class=\"note\" data-n=\"3\"><p>a &amp; b</p>&lt;i&gt;</div>"
    );
    assert_eq!(app.text("/own").await.1, "mine");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_name_the_typescript_line() {
    let app = TestApp::with(1, Limits::default(), true, &[]).await;
    // A syntax error: oxc's message, at the line and column of the source.
    let error = app
        .engine
        .load(Script::new(
            "broken.ts",
            "interface A {\n  x: number;\n}\n\nconst a: A = { x: 1 ;\n",
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("broken.ts:5: "), "{error}");
    // A throw at top level, below lines of types that leave no JavaScript behind.
    let error = app
        .engine
        .load(Script::new(
            "throws.ts",
            "type A = {\n  x: number;\n  y: string;\n};\n\n\n\nconst value: A | null = null;\nthrow new Error(`no value ${value}`);\n",
        ))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("throws.ts:9: "), "{error}");
    // A throw in a handler: the dev error page's stack points at the TypeScript line.
    app.engine
        .load(Script::new(
            "handler.ts",
            "interface Input {\n  n: number;\n}\n\n\nfunction fail(input: Input): never {\n  throw new Error(`bad ${input.n}`);\n}\nregister('/fail', () => fail({ n: 1 }));\n",
        ))
        .await
        .unwrap();
    let (status, body) = app.text("/fail").await;
    assert_eq!(status, 500);
    assert!(body.contains("bad 1"), "{body}");
    assert!(body.contains("handler.ts:7"), "{body}");
    // The management API shows the source as written.
    let loaded = app.engine.script("handler.ts").unwrap();
    assert!(loaded.source().contains("interface Input"));
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_in_imported_typescript_name_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "main.ts",
        "import { check } from './check.ts';\nregister('/check', () => check(2));\n",
    );
    write(
        dir.path(),
        "check.ts",
        "type N = number;\n\n\nexport function check(n: N): string {\n  if (n > 1) throw new RangeError(`too big: ${n}`);\n  return 'ok';\n}\n",
    );
    write(
        dir.path(),
        "bad.ts",
        "import { x } from './syntax.ts';\nregister('/x', () => x);\n",
    );
    write(dir.path(), "syntax.ts", "export const x: = 1;\n");
    let app = TestApp::with(1, Limits::default(), true, &[]).await;
    load_file(&app, &dir.path().join("main.ts")).await.unwrap();
    let (status, body) = app.text("/check").await;
    assert_eq!(status, 500);
    assert!(body.contains("check.ts:5"), "{body}");
    let error = load_file(&app, &dir.path().join("bad.ts"))
        .await
        .unwrap_err();
    assert!(error.contains("syntax.ts:1:"), "{error}");
}

#[test]
fn directories_hold_typescript_scripts_but_not_tests_or_declarations() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "a.ts",
        "b.tsx",
        "c.jsx",
        "d.js",
        "types.d.ts",
        "a.test.ts",
        "d.test.js",
        ".hidden.ts",
        "notes.txt",
    ] {
        write(dir.path(), name, "export {};\n");
    }
    let names: Vec<String> = ScriptFiles::new(dir.path())
        .unwrap()
        .read_all()
        .unwrap()
        .iter()
        .map(|script| {
            Path::new(&**script.name())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(names, ["a.ts", "b.tsx", "c.jsx", "d.js"]);
}
