//! Live reload: watch the served directory and make open pages follow the files.
//!
//! A change to a stylesheet swaps that stylesheet in place; any other change reloads the
//! page. Pages learn about changes from a Server-Sent Events stream at [`EVENTS_PATH`],
//! opened by a small script ([`SCRIPT_PATH`]) that the file service adds to every HTML
//! response (see [`inject`]). Changes are debounced, so saving many files at once (a build)
//! reloads once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ferry_core::sse::{DEFAULT_KEEP_ALIVE, Event, event_stream};
use ferry_core::{Body, Handler, Request, Response};
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::{broadcast, mpsc};

/// Where pages listen for changes.
pub const EVENTS_PATH: &str = "/__ferry/live-reload";
/// Where the page script is served.
pub const SCRIPT_PATH: &str = "/__ferry/live-reload.js";
/// The tag added to HTML responses.
pub const SCRIPT_TAG: &str = "<script src=\"/__ferry/live-reload.js\"></script>";

/// How long changes are collected before pages are told.
const DEBOUNCE: Duration = Duration::from_millis(100);

/// The page script: reload on `reload`, swap the named stylesheets on `css` (reloading if
/// none of them is on the page). `window.__ferryLiveReload` is the `EventSource`.
const SCRIPT: &str = r#"(() => {
  if (window.__ferryLiveReload) return;
  const source = new EventSource("/__ferry/live-reload");
  window.__ferryLiveReload = source;
  source.addEventListener("reload", () => location.reload());
  source.addEventListener("css", (event) => {
    const paths = JSON.parse(event.data);
    let swapped = false;
    for (const link of document.querySelectorAll('link[rel="stylesheet"]')) {
      const url = new URL(link.href, location.href);
      if (url.origin !== location.origin || !paths.includes(url.pathname)) continue;
      url.searchParams.set("ferry-reload", Date.now().toString());
      const next = link.cloneNode();
      next.href = url.href;
      next.addEventListener("load", () => link.remove(), { once: true });
      link.after(next);
      swapped = true;
    }
    if (!swapped) location.reload();
  });
})();
"#;

/// What changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Only these stylesheets (URL paths such as `/css/site.css`).
    Stylesheets(Vec<String>),
    /// Anything else: pages reload.
    Other,
}

impl Change {
    fn event(&self) -> Event {
        match self {
            Change::Other => Event::new("{}").name("reload"),
            Change::Stylesheets(paths) => {
                Event::new(serde_json::to_string(paths).unwrap_or_else(|_| "[]".to_owned()))
                    .name("css")
            }
        }
    }
}

/// A running watcher and the pages listening to it. Dropping it stops the watcher.
pub struct LiveReload {
    changes: broadcast::Sender<Change>,
    _watcher: Option<Debouncer<notify::RecommendedWatcher, RecommendedCache>>,
}

impl std::fmt::Debug for LiveReload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveReload")
            .field("listeners", &self.changes.receiver_count())
            .finish()
    }
}

impl LiveReload {
    /// Watches `root` (recursively). Changes to hidden files are ignored unless
    /// `include_hidden`, and so are editors' temporary files.
    pub fn watch(root: &Path, include_hidden: bool) -> Result<Self, notify::Error> {
        let root = std::fs::canonicalize(root).map_err(notify::Error::io)?;
        let (changes, _) = broadcast::channel(16);
        let sender = changes.clone();
        let watched_root = root.clone();
        let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            let paths = events
                .iter()
                .filter(|event| !event.kind.is_access())
                .flat_map(|event| event.paths.iter());
            if let Some(change) = classify(&watched_root, paths, include_hidden) {
                tracing::debug!(?change, "files changed");
                let _ = sender.send(change);
            }
        })?;
        debouncer.watch(&root, RecursiveMode::Recursive)?;
        Ok(LiveReload {
            changes,
            _watcher: Some(debouncer),
        })
    }

    /// A live reload without a watcher; changes come only from [`LiveReload::notify`].
    pub fn manual() -> Self {
        let (changes, _) = broadcast::channel(16);
        LiveReload {
            changes,
            _watcher: None,
        }
    }

    /// Tells every open page about `change`.
    pub fn notify(&self, change: Change) {
        let _ = self.changes.send(change);
    }

    /// Subscribes to changes (what the events handler does for each page).
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.changes.subscribe()
    }

    /// The handler for [`EVENTS_PATH`]: one event stream per page.
    pub fn events_handler(&self) -> impl Handler {
        let changes = self.changes.clone();
        move |request: Request| {
            let mut subscription = changes.subscribe();
            async move {
                let (sender, receiver) = mpsc::channel(8);
                tokio::spawn(async move {
                    loop {
                        let change = tokio::select! {
                            change = subscription.recv() => change,
                            () = sender.closed() => break,
                        };
                        let event = match change {
                            Ok(change) => change.event(),
                            // Missed some changes: a reload covers them all.
                            Err(broadcast::error::RecvError::Lagged(_)) => Change::Other.event(),
                            Err(broadcast::error::RecvError::Closed) => break,
                        };
                        if sender.send(event).await.is_err() {
                            break;
                        }
                    }
                });
                event_stream(&request, receiver, DEFAULT_KEEP_ALIVE)
            }
        }
    }

    /// The handler for [`SCRIPT_PATH`]: the page script.
    pub fn script_handler(&self) -> impl Handler {
        |_request: Request| async {
            let mut response = Response::new(Body::from(SCRIPT));
            let headers = response.headers_mut();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            );
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
    }
}

/// What a batch of changed `paths` under `root` means for pages: `None` when every path is
/// ignored (hidden, or an editor's temporary file).
pub fn classify<'a>(
    root: &Path,
    paths: impl Iterator<Item = &'a PathBuf>,
    include_hidden: bool,
) -> Option<Change> {
    let mut stylesheets = Vec::new();
    let mut other = false;
    for path in paths {
        let Ok(relative) = path.strip_prefix(root) else {
            continue;
        };
        let names: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let Some(name) = names.last() else { continue };
        if is_temporary(name) || (!include_hidden && names.iter().any(|n| n.starts_with('.'))) {
            continue;
        }
        if name.ends_with(".css") {
            let url = format!("/{}", names.join("/"));
            if !stylesheets.contains(&url) {
                stylesheets.push(url);
            }
        } else {
            other = true;
        }
    }
    if other {
        Some(Change::Other)
    } else if stylesheets.is_empty() {
        None
    } else {
        Some(Change::Stylesheets(stylesheets))
    }
}

/// Files editors write while saving: Vim's `4913` probe and `.swp`, backups ending in `~`,
/// Emacs' `#name#` and `.#name` locks, and `.tmp` files.
fn is_temporary(name: &str) -> bool {
    name == "4913"
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".tmp")
        || (name.starts_with('#') && name.ends_with('#'))
        || name.starts_with(".#")
}

/// `html` with [`SCRIPT_TAG`] added before the last `</body>`, else before the last
/// `</html>`, else at the end, so pages without those tags reload too.
///
/// ```
/// use ferry_static::live_reload::{inject, SCRIPT_TAG};
///
/// let page = inject(b"<p>no closing tags");
/// assert_eq!(page, format!("<p>no closing tags{SCRIPT_TAG}").into_bytes());
/// ```
pub fn inject(html: &[u8]) -> Vec<u8> {
    let at = rfind_ignore_case(html, b"</body>")
        .or_else(|| rfind_ignore_case(html, b"</html>"))
        .unwrap_or(html.len());
    let mut out = Vec::with_capacity(html.len() + SCRIPT_TAG.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(SCRIPT_TAG.as_bytes());
    out.extend_from_slice(&html[at..]);
    out
}

fn rfind_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.len() > haystack.len() {
        return None;
    }
    (0..=haystack.len() - needle.len())
        .rev()
        .find(|&at| haystack[at..at + needle.len()].eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injected(html: &str) -> String {
        String::from_utf8(inject(html.as_bytes())).unwrap()
    }

    #[test]
    fn script_goes_before_the_last_body_or_html_close_or_at_the_end() {
        assert_eq!(
            injected("<body><p>x</p></body></html>"),
            format!("<body><p>x</p>{SCRIPT_TAG}</body></html>")
        );
        assert_eq!(
            injected("<p>x</p></HTML>"),
            format!("<p>x</p>{SCRIPT_TAG}</HTML>")
        );
        assert_eq!(injected("<p>x</p>"), format!("<p>x</p>{SCRIPT_TAG}"));
        assert_eq!(injected(""), SCRIPT_TAG);
        // A `</body>` inside a script earlier in the page is not the one.
        assert_eq!(
            injected("<script>'</body>'</script><p>x</p></Body>"),
            format!("<script>'</body>'</script><p>x</p>{SCRIPT_TAG}</Body>")
        );
    }

    #[test]
    fn stylesheet_only_changes_are_swapped_and_others_reload() {
        let root = Path::new("/site");
        let css = [
            PathBuf::from("/site/css/a.css"),
            PathBuf::from("/site/b.css"),
        ];
        assert_eq!(
            classify(root, css.iter(), false),
            Some(Change::Stylesheets(vec![
                "/css/a.css".into(),
                "/b.css".into()
            ]))
        );
        let mixed = [
            PathBuf::from("/site/a.css"),
            PathBuf::from("/site/index.html"),
        ];
        assert_eq!(classify(root, mixed.iter(), false), Some(Change::Other));
    }

    #[test]
    fn hidden_and_temporary_files_are_ignored() {
        let root = Path::new("/site");
        let noise = [
            PathBuf::from("/site/.git/index"),
            PathBuf::from("/site/.index.html.swp"),
            PathBuf::from("/site/4913"),
            PathBuf::from("/site/index.html~"),
            PathBuf::from("/elsewhere/x.html"),
        ];
        assert_eq!(classify(root, noise.iter(), false), None);
        let hidden = [PathBuf::from("/site/.well-known/x.txt")];
        assert_eq!(classify(root, hidden.iter(), true), Some(Change::Other));
    }

    #[tokio::test]
    async fn the_watcher_reports_edits() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("style.css"), "a{}").unwrap();
        std::fs::write(dir.path().join("index.html"), "<p>1</p>").unwrap();
        let live = LiveReload::watch(dir.path(), false).unwrap();
        let mut changes = live.subscribe();
        std::fs::write(dir.path().join("style.css"), "a{color:red}").unwrap();
        let change = tokio::time::timeout(Duration::from_secs(5), changes.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(change, Change::Stylesheets(vec!["/style.css".into()]));
        std::fs::write(dir.path().join("index.html"), "<p>2</p>").unwrap();
        let change = tokio::time::timeout(Duration::from_secs(5), changes.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(change, Change::Other);
    }
}
