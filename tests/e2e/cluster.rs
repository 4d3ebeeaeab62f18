//! Three `ferry run` nodes on one real PostgreSQL: scripts uploaded on one are live on the
//! others within a second, messages published on any node reach the subscribers of every
//! node exactly once (10,000 of them, counted; one of 64 KiB), scheduled jobs run once per
//! cluster, `BroadcastChannel` and `dispatcher` messages reach every node, a node killed
//! under load leaves the others serving, and notifications missed while a listener
//! reconnects are made up.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use reqwest::StatusCode;

use crate::support::{Ferry, run_app};
use ferry_store::testing::PostgresCluster;

const ADMIN_TOKEN: &str = "cluster-admin-token";

const APP: &str = r#"
registerWebStream("/events");
register("/publish", (context) => {
    const sent = sendStreamMessageToPath("/events", context.request.body);
    return String(sent);
}, "POST");
register("/static", () => "no database needed");
register("/count", () => {
    const next = Number(sharedStorage.getItem("count") || "0") + 1;
    sharedStorage.setItem("count", String(next));
    return String(next);
});
"#;

/// Nodes of one app on the database at `url`.
struct Nodes {
    nodes: Vec<Ferry>,
    _app: tempfile::TempDir,
    _data: tempfile::TempDir,
}

fn start_nodes(url: &str, count: usize) -> Nodes {
    start_nodes_with(url, count, &[])
}

fn start_nodes_with(url: &str, count: usize, more: &[&str]) -> Nodes {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(app.path().join("app.js"), APP).unwrap();
    let data = tempfile::tempdir().unwrap();
    let nodes = (0..count)
        .map(|index| {
            run_app(
                app.path(),
                &data.path().join(index.to_string()),
                &[
                    "--database-url",
                    url,
                    "--admin-token",
                    ADMIN_TOKEN,
                    "--sse-client-queue",
                    "20000",
                    "--max-body-size",
                    "1MiB",
                ]
                .iter()
                .chain(more)
                .copied()
                .collect::<Vec<_>>(),
            )
        })
        .collect();
    Nodes {
        nodes,
        _app: app,
        _data: data,
    }
}

async fn upsert(client: &reqwest::Client, node: &Ferry, uri: &str, content: &str) {
    let response = client
        .post(node.url("/engine/upsert_script"))
        .bearer_auth(ADMIN_TOKEN)
        .form(&[("uri", uri), ("content", content)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "{:?}",
        response.text().await
    );
}

/// Waits up to `limit` until `node` answers `path` with `expected`; returns how long it
/// took.
async fn until_served(
    client: &reqwest::Client,
    node: &Ferry,
    path: &str,
    expected: Option<&str>,
    limit: Duration,
) -> Duration {
    let started = Instant::now();
    loop {
        let response = client.get(node.url(path)).send().await.unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        let served = match expected {
            Some(text) => status == StatusCode::OK && body == text,
            None => status == StatusCode::NOT_FOUND,
        };
        if served {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{path} on {} still answers {status} {body:?} after {limit:?}",
            node.url
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A subscriber of `/events` on `node`, counting each message it receives.
struct Subscriber {
    counts: tokio::task::JoinHandle<HashMap<String, u32>>,
}

async fn subscribe(node: &Ferry, expected: usize) -> Subscriber {
    let response = reqwest::get(node.url("/events")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let counts = tokio::spawn(async move {
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut stream = response.bytes_stream();
        let mut pending = String::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        while counts.values().map(|&n| n as usize).sum::<usize>() < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(Some(Ok(chunk))) = tokio::time::timeout(left, stream.next()).await else {
                break;
            };
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|line| line.strip_prefix("data: "))
                    .collect();
                if !data.is_empty() {
                    *counts.entry(data.join("\n")).or_default() += 1;
                }
            }
        }
        counts
    });
    Subscriber { counts }
}

#[tokio::test]
async fn three_nodes_share_scripts_and_every_message_arrives_once_everywhere() {
    let url = PostgresCluster::shared().create_database();
    let cluster = start_nodes(&url, 3);
    let nodes = &cluster.nodes;
    let client = reqwest::Client::new();

    // Uploaded on the first node, live on the other two within a second.
    upsert(
        &client,
        &nodes[0],
        "shared.js",
        "register('/shared', () => 'v1')",
    )
    .await;
    for node in &nodes[1..] {
        let took = until_served(&client, node, "/shared", Some("v1"), Duration::from_secs(1)).await;
        eprintln!("v1 live on {} after {took:?}", node.url);
    }
    // Changed on the second, live everywhere; deleted on the third, gone everywhere.
    upsert(
        &client,
        &nodes[1],
        "shared.js",
        "register('/shared', () => 'v2')",
    )
    .await;
    for node in [&nodes[0], &nodes[2]] {
        until_served(&client, node, "/shared", Some("v2"), Duration::from_secs(1)).await;
    }
    let deleted = client
        .post(nodes[2].url("/engine/delete_script"))
        .bearer_auth(ADMIN_TOKEN)
        .form(&[("uri", "shared.js")])
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    for node in &nodes[..2] {
        until_served(&client, node, "/shared", None, Duration::from_secs(1)).await;
    }

    // An asset route serves what was last stored, on every node: each caches the asset
    // once read and drops it when any node changes it.
    upsert(
        &client,
        &nodes[0],
        "assets.js",
        "routeRegistry.registerAssetRoute('/note.txt', 'note.txt')",
    )
    .await;
    for (round, writer) in nodes.iter().enumerate() {
        let text = format!("note {round}");
        let stored = client
            .post(writer.url("/engine/assets"))
            .bearer_auth(ADMIN_TOKEN)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({ "uri": "assets.js", "name": "note.txt", "content": text })
                    .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(stored.status(), StatusCode::OK);
        for node in nodes {
            until_served(
                &client,
                node,
                "/note.txt",
                Some(&text),
                Duration::from_secs(1),
            )
            .await;
        }
    }

    // 10,000 messages published round-robin across the nodes: each subscriber, one per
    // node, gets every one of them once.
    const MESSAGES: usize = 10_000;
    let mut subscribers = Vec::new();
    for node in nodes {
        subscribers.push(subscribe(node, MESSAGES).await);
    }
    let urls: Vec<String> = nodes.iter().map(|node| node.url("/publish")).collect();
    let started = Instant::now();
    futures_util::stream::iter(0..MESSAGES)
        .for_each_concurrent(24, |id| {
            let request = client.post(&urls[id % urls.len()]).body(format!("m{id}"));
            async move {
                let response = request.send().await.unwrap();
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                assert_eq!(status, StatusCode::OK, "{body}");
            }
        })
        .await;
    eprintln!("published {MESSAGES} messages in {:?}", started.elapsed());
    for (index, subscriber) in subscribers.into_iter().enumerate() {
        let counts = subscriber.counts.await.unwrap();
        let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(5).collect();
        assert!(
            doubled.is_empty(),
            "node {index} got some twice: {doubled:?}"
        );
        let missing: Vec<String> = (0..MESSAGES)
            .map(|id| format!("m{id}"))
            .filter(|message| !counts.contains_key(message))
            .take(5)
            .collect();
        assert!(
            missing.is_empty(),
            "node {index} lost some: {missing:?} ..."
        );
        assert_eq!(counts.len(), MESSAGES, "node {index}");
    }

    // A message of 64 KiB crosses too (through the table: a notification holds 8,000 bytes).
    let large: String = (0..65_536)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let subscriber = subscribe(&nodes[2], 1).await;
    let response = client
        .post(nodes[0].url("/publish"))
        .body(large.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let counts = subscriber.counts.await.unwrap();
    assert_eq!(
        counts.get(&large),
        Some(&1),
        "the 64 KiB message arrived whole"
    );
}

/// Jobs, channels and the dispatcher, recording into the script's own table.
const TOGETHER: &str = r#"
async function init() {
    await db.exec("CREATE TABLE IF NOT EXISTS seen (at BIGINT, what TEXT)");
}
const note = (at, what) => db.prepare("INSERT INTO seen (at, what) VALUES (?, ?)").bind(at, what).run();
schedulerService.registerRecurring({
    name: "tick",
    intervalMilliseconds: 1000,
    startAt: 0,
    handler: (context) => note(context.args.scheduledTime, "tick"),
});
new BroadcastChannel("cluster").onmessage = (event) => note(0, `channel ${event.data}`);
const out = new BroadcastChannel("cluster");
dispatcher.registerListener("ping", (context) => note(0, `dispatch ${context.args.data}`));
register("/seen", async () => JSON.stringify((await db.prepare("SELECT at, what FROM seen").all()).results));
register("/post", (context) => { out.postMessage(context.request.query.n); return "posted"; });
register("/ping", (context) => { dispatcher.sendMessage("ping", context.request.query.n); return "sent"; });
"#;

#[tokio::test]
async fn jobs_run_once_per_cluster_and_messages_reach_every_node() {
    let url = PostgresCluster::shared().create_database();
    let cluster = start_nodes_with(&url, 3, &["--workers", "2"]);
    let nodes = &cluster.nodes;
    let client = reqwest::Client::new();
    upsert(&client, &nodes[0], "together.js", TOGETHER).await;
    for node in nodes {
        until_served(
            &client,
            node,
            "/post?n=warm",
            Some("posted"),
            Duration::from_secs(2),
        )
        .await;
    }
    let seen = |rows: &serde_json::Value, what: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .filter(|row| row["what"] == what)
            .count()
    };
    let read = || async {
        let body = client
            .get(nodes[2].url("/seen"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };

    // Posted on one node: every worker of each of the three nodes hears it — four each, as
    // `--workers 2` in the default `auto` model is two on the server threads and two in
    // the pool (the channel that posted does not; its neighbour on the posting worker does).
    assert_eq!(
        client
            .get(nodes[0].url("/post?n=1"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        client
            .get(nodes[1].url("/ping?n=2"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let started = Instant::now();
    let rows = loop {
        let rows = read().await;
        let done = seen(&rows, "channel 1") >= 12 && seen(&rows, "dispatch 2") >= 3;
        if done || started.elapsed() > Duration::from_secs(5) {
            break rows;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(seen(&rows, "channel 1"), 12, "{rows}");
    // The dispatcher runs each listener once on each node.
    assert_eq!(seen(&rows, "dispatch 2"), 3, "{rows}");

    // Every node polls for the job; each second's run happens on one of them only.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let rows = read().await;
    let mut ticks: Vec<i64> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["what"] == "tick")
        .map(|row| row["at"].as_i64().unwrap())
        .collect();
    ticks.sort_unstable();
    let runs = ticks.len();
    ticks.dedup();
    assert!(runs >= 3, "{rows}");
    assert_eq!(ticks.len(), runs, "a run happened twice: {rows}");
}

#[tokio::test]
async fn a_node_killed_under_load_leaves_the_others_serving() {
    let url = PostgresCluster::shared().create_database();
    let mut cluster = start_nodes(&url, 3);
    let client = reqwest::Client::new();
    let survivors: Vec<String> = cluster.nodes[1..]
        .iter()
        .map(|node| node.url("/static"))
        .collect();
    let load = {
        let client = client.clone();
        tokio::spawn(async move {
            let mut answered = 0u32;
            let until = Instant::now() + Duration::from_secs(2);
            while Instant::now() < until {
                for url in &survivors {
                    let response = client.get(url).send().await.unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                    answered += 1;
                }
            }
            answered
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.nodes[0].child.kill().unwrap();
    cluster.nodes[0].child.wait().unwrap();
    let answered = load.await.unwrap();
    assert!(answered > 10, "only {answered} answers");
    // And they still talk to each other.
    upsert(
        &client,
        &cluster.nodes[1],
        "after.js",
        "register('/after', () => 'yes')",
    )
    .await;
    until_served(
        &client,
        &cluster.nodes[2],
        "/after",
        Some("yes"),
        Duration::from_secs(1),
    )
    .await;
}

#[tokio::test]
async fn changes_missed_while_listening_stopped_are_made_up_and_a_database_restart_is_survived() {
    // A server of this test's own: it is restarted.
    let server = PostgresCluster::start().unwrap();
    server.psql("postgres", "CREATE DATABASE app");
    let cluster = start_nodes(&server.url("app"), 2);
    let nodes = &cluster.nodes;
    let client = reqwest::Client::new();
    upsert(
        &client,
        &nodes[0],
        "missed.js",
        "register('/missed', () => 'old')",
    )
    .await;
    until_served(
        &client,
        &nodes[1],
        "/missed",
        Some("old"),
        Duration::from_secs(1),
    )
    .await;

    // The listeners' connections are cut, and a change made meanwhile announces itself to
    // nobody (psql sends no notification): only catching up can find it.
    server.psql(
        "app",
        "BEGIN;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ferry-listener';
         UPDATE ferry.scripts SET content = 'register(''/missed'', () => ''new'')' WHERE uri = 'missed.js';
         COMMIT;",
    );
    for node in nodes {
        until_served(
            &client,
            node,
            "/missed",
            Some("new"),
            Duration::from_secs(10),
        )
        .await;
        let lines = node.stderr_until(Duration::from_secs(5), |line| line.contains("caught up"));
        assert!(
            lines.iter().any(|line| line.contains("1 scripts changed")),
            "{lines:?}"
        );
    }

    // The database goes away: what does not need it is still served; what does is 503
    // with Retry-After, from scripts and from the management API.
    server.stop().unwrap();
    for node in nodes {
        let response = client.get(node.url("/static")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let response = client.get(node.url("/count")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "5");
        let response = client
            .post(node.url("/engine/upsert_script"))
            .bearer_auth(ADMIN_TOKEN)
            .form(&[
                ("uri", "during.js"),
                ("content", "register('/during', () => 1)"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()["retry-after"], "5");
        let health: serde_json::Value =
            crate::auth::json(client.get(node.url("/health")).send().await.unwrap()).await;
        assert_eq!(health["status"], "healthy", "{health}");
        assert_eq!(health["database"]["status"], "unreachable", "{health}");
    }
    server.start_again().unwrap();
    // Back: the pool and the listeners find it again by themselves.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let response = client
            .post(nodes[0].url("/engine/upsert_script"))
            .bearer_auth(ADMIN_TOKEN)
            .form(&[
                ("uri", "later.js"),
                ("content", "register('/later', () => 'later')"),
            ])
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "the database did not come back");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    until_served(
        &client,
        &nodes[1],
        "/later",
        Some("later"),
        Duration::from_secs(10),
    )
    .await;
}
