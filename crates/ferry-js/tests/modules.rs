//! ES modules between an app's files: imports of JavaScript and JSON relative to the
//! importing file, nothing outside the app's directory and no bare package names, an
//! exported `init()`, top-level await, and a change to an imported file reloading the
//! script that imports it.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use ferry_js::Script;
use ferry_js::watch::ScriptFiles;
use support::TestApp;

fn write(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// An app directory (inside a parent that holds a file the app must not reach).
fn app() -> (tempfile::TempDir, std::path::PathBuf) {
    let parent = tempfile::tempdir().unwrap();
    write(
        parent.path(),
        "secret.js",
        "export const secret = 'outside';",
    );
    let dir = parent.path().join("app");
    write(
        &dir,
        "main.js",
        r#"
import { greet } from "./lib/greet.js";
import config from "./data/config.json";
import * as math from "./lib/math.js";
const settled = await Promise.resolve("awaited");
let initialised = "no";
export function init() {
  initialised = "yes";
}
register("/hello", (context) => greet(context.request.query.name ?? config.defaultName));
register("/facts", () => JSON.stringify({ sum: math.add(2, 3), config, settled, initialised }));
"#,
    );
    write(
        &dir,
        "lib/greet.js",
        r#"
import { punctuation } from "../lib/punctuation.js";
export const greet = (name) => `Hello, ${name}${punctuation}`;
"#,
    );
    write(
        &dir,
        "lib/punctuation.js",
        "export const punctuation = '!';",
    );
    write(
        &dir,
        "lib/math.js",
        "export function add(a, b) { return a + b; }",
    );
    write(
        &dir,
        "data/config.json",
        r#"{ "defaultName": "world", "limits": [1, 2] }"#,
    );
    (parent, dir)
}

async fn load_dir(app: &TestApp, dir: &Path) -> Vec<String> {
    let mut errors = Vec::new();
    for script in ScriptFiles::new(dir).unwrap().read_all().unwrap() {
        if let Err(error) = app.engine.load(script).await {
            errors.push(error.to_string());
        }
    }
    errors
}

#[tokio::test(flavor = "multi_thread")]
async fn scripts_import_the_apps_javascript_and_json() {
    let (_parent, dir) = app();
    let app = TestApp::new(&[]).await;
    assert!(load_dir(&app, &dir).await.is_empty());
    assert_eq!(
        app.text("/hello?name=Ann").await,
        (200, "Hello, Ann!".into())
    );
    assert_eq!(app.text("/hello").await.1, "Hello, world!");
    let facts: serde_json::Value = serde_json::from_str(&app.text("/facts").await.1).unwrap();
    assert_eq!(facts["sum"], 5);
    assert_eq!(facts["config"]["limits"], serde_json::json!([1, 2]));
    assert_eq!(facts["settled"], "awaited");
    assert_eq!(facts["initialised"], "yes", "the exported init() ran");
}

#[tokio::test(flavor = "multi_thread")]
async fn imports_stay_inside_the_app_and_say_why_not() {
    let (_parent, dir) = app();
    let app = TestApp::new(&[]).await;
    for (file, source, expected) in [
        (
            "escape.js",
            "import { secret } from '../secret.js';",
            "outside the app's directory",
        ),
        (
            "bare.js",
            "import _ from 'lodash';",
            "only files of the app can be imported",
        ),
        (
            "missing.js",
            "import { x } from './nope.js';",
            "cannot read",
        ),
        (
            "badjson.js",
            "import data from './data/bad.json';",
            "not JSON",
        ),
        (
            "kind.js",
            "import text from './data/notes.txt';",
            "cannot be imported",
        ),
        (
            "waits.js",
            "await new Promise((resolve) => setTimeout(resolve, 10));",
            "top-level await",
        ),
    ] {
        write(&dir, "data/bad.json", "{ nope");
        write(&dir, "data/notes.txt", "text");
        write(&dir, file, &format!("{source}\nexport {{}};"));
        let script = ScriptFiles::new(&dir.join(file))
            .unwrap()
            .read_all()
            .unwrap()
            .remove(0);
        let error = app.engine.load(script).await.unwrap_err().to_string();
        assert!(error.contains(expected), "{file}: {error}");
    }
    // A script that did not come from files (the management API) cannot import at all.
    let error = app
        .engine
        .load(Script::new("uploaded.js", "import { a } from './a.js';"))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("scripts read from an app's files"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_change_to_an_imported_file_reloads_its_importers() {
    let (_parent, dir) = app();
    let app = TestApp::new(&[]).await;
    assert!(load_dir(&app, &dir).await.is_empty());
    let _watcher = ScriptFiles::new(&dir)
        .unwrap()
        .watch(app.engine.clone(), tokio::runtime::Handle::current())
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Two levels down: main.js imports greet.js, which imports punctuation.js.
    write(
        &dir,
        "lib/punctuation.js",
        "export const punctuation = '?';",
    );
    let started = Instant::now();
    loop {
        let (_, body) = app.text("/hello?name=Ann").await;
        if body == "Hello, Ann?" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "still {body:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
