//! `ferry serve --watch`: the change stream and the page script, through the binary.

use std::time::{Duration, Instant};

use crate::support::{Ferry, site};

/// Reads the event stream until `wanted` appears (or fails after ten seconds).
async fn wait_for(stream: &mut reqwest::Response, wanted: &str) -> String {
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains(wanted) {
        let left = deadline.saturating_duration_since(Instant::now());
        let chunk = tokio::time::timeout(left, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no '{wanted}' in time; got {seen:?}"))
            .unwrap()
            .unwrap_or_else(|| panic!("stream ended; got {seen:?}"));
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test]
async fn file_changes_are_announced_on_the_event_stream() {
    let dir = site();
    std::fs::write(dir.path().join("style.css"), "p { color: blue; }").unwrap();
    let ferry = Ferry::serve(dir.path(), &["--watch", "--quiet"]);

    let script = reqwest::get(ferry.url("/__ferry/live-reload.js"))
        .await
        .unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert!(script.text().await.unwrap().contains("EventSource"));
    let page = reqwest::get(ferry.url("/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("/__ferry/live-reload.js"), "{page}");

    let mut stream = reqwest::get(ferry.url("/__ferry/live-reload"))
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    // Give the watcher a moment to be subscribed before the first edit.
    tokio::time::sleep(Duration::from_millis(200)).await;
    std::fs::write(dir.path().join("style.css"), "p { color: red; }").unwrap();
    let seen = wait_for(&mut stream, "event: css").await;
    assert!(seen.contains("data: [\"/style.css\"]"), "{seen}");

    std::fs::write(dir.path().join("index.html"), "<p>new</p>").unwrap();
    wait_for(&mut stream, "event: reload").await;
}

#[test]
fn an_open_event_stream_does_not_delay_shutdown() {
    let dir = site();
    let mut ferry = Ferry::serve(dir.path(), &["--watch", "--quiet"]);
    let url = ferry.url("/__ferry/live-reload");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _stream = runtime.block_on(async { reqwest::get(url).await.unwrap() });
    let started = Instant::now();
    ferry.signal("TERM");
    let status = ferry
        .wait_exit(Duration::from_secs(5))
        .expect("ferry exits");
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_browser_follows_edits_and_swaps_stylesheets_in_place() {
    let dir = tempfile::tempdir().unwrap();
    // No </body> and no </html>: the script must still be added and work.
    std::fs::write(
        dir.path().join("index.html"),
        "<link rel=\"stylesheet\" href=\"style.css\"><p id=\"text\">version one</p>",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("style.css"),
        "#text { color: rgb(0, 0, 255); }\n",
    )
    .unwrap();
    let ferry = Ferry::serve(dir.path(), &["--watch", "--quiet"]);
    let result = crate::browser::browser(
        "live-reload",
        &[&ferry.url("/"), dir.path().to_str().unwrap()],
    );
    assert_eq!(result["reloaded"], true, "{result}");
    assert_eq!(result["colorBefore"], "rgb(0, 0, 255)", "{result}");
    assert_eq!(
        result["markerAfterCss"], "still here",
        "the page was not reloaded for CSS: {result}"
    );
}
