//! Messages between scripts: `BroadcastChannel` reaches every channel of its name in every
//! script and worker but the one that posted, and aiwebengine's `dispatcher` runs each
//! script's listener for a type once.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use ferry_js::Limits;
use support::TestApp;

/// Records every message a channel of this script receives in its SQL table `got`.
const LISTEN: &str = r#"
async function init() {
  await db.exec("CREATE TABLE IF NOT EXISTS got (what TEXT)");
}
const keep = (what) => db.prepare("INSERT INTO got (what) VALUES (?)").bind(JSON.stringify(what)).run();
const news = new BroadcastChannel("news");
news.onmessage = (event) => keep(["onmessage", event.data, event instanceof MessageEvent]);
news.addEventListener("message", (event) => keep(["listener", event.data]));
new BroadcastChannel("other").onmessage = (event) => keep(["other", event.data]);
dispatcher.registerListener("order.created", async (context) => {
  await keep(["dispatched", context.kind, context.args.type, context.args.data]);
});
register("/listen/got", async () => JSON.stringify((await db.prepare("SELECT what FROM got").all()).results.map((row) => JSON.parse(row.what))));
"#;

/// Posts from a channel of its own, beside another channel of the same name.
const POST: &str = r#"
async function init() {
  await db.exec("CREATE TABLE IF NOT EXISTS got (what TEXT)");
}
const mine = new BroadcastChannel("news");
mine.onmessage = (event) => db.prepare("INSERT INTO got (what) VALUES (?)").bind(JSON.stringify(event.data)).run();
register("/post", () => {
  const sender = new BroadcastChannel("news");
  sender.onmessage = () => { throw new Error("a channel does not hear itself"); };
  sender.postMessage({ n: 1, text: "hello" });
  sender.close();
  let closed = "open";
  try {
    sender.postMessage("late");
  } catch (error) {
    closed = error.name;
  }
  return closed;
});
register("/dispatch", () => {
  dispatcher.sendMessage("order.created", { id: 7 });
  dispatcher.sendMessage("nobody.listens", 1);
  return "sent";
});
register("/bad", () => {
  const results = [];
  for (const attempt of [
    () => new BroadcastChannel("x").postMessage({ big: "x".repeat(2 * 1024 * 1024) }),
    () => new BroadcastChannel("x").postMessage(10n),
    () => dispatcher.sendMessage("t", () => 1),
  ]) {
    try {
      attempt();
      results.push("sent");
    } catch (error) {
      results.push(error.name);
    }
  }
  return JSON.stringify(results);
});
register("/post/got", async () => JSON.stringify((await db.prepare("SELECT what FROM got").all()).results.map((row) => JSON.parse(row.what))));
"#;

async fn got(app: &TestApp, path: &str, at_least: usize) -> Vec<serde_json::Value> {
    let started = Instant::now();
    loop {
        let (status, body) = app.text(path).await;
        assert_eq!(status, 200, "{body}");
        let seen: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        if seen.len() >= at_least || started.elapsed() > Duration::from_secs(5) {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn broadcast_channels_reach_every_script_and_worker_but_the_sender() {
    let app = TestApp::with(
        2,
        Limits::default(),
        false,
        &[("listen.js", LISTEN), ("post.js", POST)],
    )
    .await;
    assert_eq!(app.text("/post").await, (200, "InvalidStateError".into()));
    // Two workers run each script: each context's channels hear it once.
    let heard = got(&app, "/listen/got", 4).await;
    let message = serde_json::json!({ "n": 1, "text": "hello" });
    let onmessage = heard
        .iter()
        .filter(|entry| entry[0] == "onmessage" && entry[1] == message && entry[2] == true)
        .count();
    let listener = heard
        .iter()
        .filter(|entry| entry[0] == "listener" && entry[1] == message)
        .count();
    assert_eq!((onmessage, listener), (2, 2), "{heard:?}");
    assert!(heard.iter().all(|entry| entry[0] != "other"), "{heard:?}");
    // In the posting script, the other channel of the name hears it (on both workers);
    // the sender does not (its handler would have thrown).
    let own = got(&app, "/post/got", 2).await;
    assert_eq!(own, [message.clone(), message], "{own:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        got(&app, "/listen/got", 0).await.len(),
        4,
        "no more than once"
    );

    assert_eq!(
        app.text("/bad").await.1,
        r#"["Error","DataCloneError","TypeError"]"#
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dispatcher_listeners_run_once_per_message() {
    let app = TestApp::with(
        2,
        Limits::default(),
        false,
        &[("listen.js", LISTEN), ("post.js", POST)],
    )
    .await;
    assert_eq!(app.text("/dispatch").await.1, "sent");
    let heard = got(&app, "/listen/got", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let heard_later = got(&app, "/listen/got", 0).await;
    assert_eq!(heard, heard_later, "once");
    assert_eq!(
        heard,
        [serde_json::json!([
            "dispatched",
            "dispatcherMessage",
            "order.created",
            { "id": 7 }
        ])]
    );
}
