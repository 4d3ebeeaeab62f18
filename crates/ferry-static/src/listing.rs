//! Directory listings, as an HTML page or as JSON.
//!
//! Entries are directories first, then files, each group sorted by name without regard to
//! case. Names are shown as text (invalid UTF-8 replaced) and linked percent-encoded from
//! their raw bytes, so every name works as a link: `%`, `#`, `?`, spaces, quotes and
//! non-UTF-8 bytes included. Hidden entries are left out unless hidden files are served,
//! and symlinks are listed only when they resolve inside the root (or symlinks are followed).

use std::fmt::{self, Write as _};
use std::fs;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::path::encode_segment;
use crate::resolve::symlink_target_allowed;

/// One listed entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    name: Vec<u8>,
    is_dir: bool,
    size: Option<u64>,
    modified: Option<SystemTime>,
}

/// What to include when reading a directory.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ListingPolicy<'a> {
    pub root: &'a Path,
    pub show_hidden: bool,
    pub follow_symlinks: bool,
    /// Files never listed (canonical paths).
    pub private_files: &'a [std::path::PathBuf],
}

/// Reads and sorts the entries of `dir`. Blocking: call it off the async threads.
pub(crate) fn read_entries(dir: &Path, policy: ListingPolicy<'_>) -> io::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    for item in fs::read_dir(dir)? {
        let Ok(item) = item else { continue };
        let name = os_bytes(&item.file_name());
        if name.first() == Some(&b'.') && !policy.show_hidden {
            continue;
        }
        if crate::is_config_file_name(&item.file_name())
            || (!policy.private_files.is_empty() && policy.private_files.contains(&item.path()))
        {
            continue;
        }
        let Ok(file_type) = item.file_type() else {
            continue;
        };
        let metadata = if file_type.is_symlink() {
            match symlink_target_allowed(policy.root, &item.path(), policy.follow_symlinks) {
                Some(metadata) => metadata,
                None => continue,
            }
        } else {
            match item.metadata() {
                Ok(metadata) => metadata,
                Err(_) => continue,
            }
        };
        let is_dir = metadata.is_dir();
        entries.push(Entry {
            name,
            is_dir,
            size: (!is_dir).then_some(metadata.len()),
            modified: metadata.modified().ok(),
        });
    }
    entries.sort_by_cached_key(|entry| {
        (
            !entry.is_dir,
            String::from_utf8_lossy(&entry.name).to_lowercase(),
            entry.name.clone(),
        )
    });
    Ok(entries)
}

#[cfg(unix)]
fn os_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    std::os::unix::ffi::OsStrExt::as_bytes(name).to_vec()
}

#[cfg(not(unix))]
fn os_bytes(name: &std::ffi::OsStr) -> Vec<u8> {
    name.to_string_lossy().into_owned().into_bytes()
}

impl Entry {
    fn display_name(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// The link to this entry, relative to the listed directory.
    fn href(&self) -> String {
        let mut href = encode_segment(&self.name).into_owned();
        if self.is_dir {
            href.push('/');
        }
        href
    }
}

/// The HTML page listing `entries` of the directory at URL path `url_path` (decoded text,
/// with a trailing slash).
pub(crate) fn render_html(url_path: &str, entries: &[Entry]) -> String {
    let mut page = String::with_capacity(2048 + entries.len() * 220);
    page.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<title>Directory listing for ",
    );
    push_escaped(&mut page, url_path);
    let _ = write!(page, "</title>\n<style>{STYLE}</style>\n</head>\n<body>\n");
    page.push_str("<h1>Directory listing for ");
    push_escaped(&mut page, url_path);
    page.push_str(
        "</h1>\n<table>\n\
<thead><tr><th>Name</th><th class=\"size\">Size</th><th>Modified</th></tr></thead>\n<tbody>\n",
    );
    if url_path != "/" {
        page.push_str(
            "<tr><td><a href=\"../\">../</a></td><td class=\"size\"></td><td></td></tr>\n",
        );
    }
    for entry in entries {
        push_html_row(&mut page, entry);
    }
    let count = entries.len();
    let noun = if count == 1 { "entry" } else { "entries" };
    let _ = write!(
        page,
        "</tbody>\n</table>\n<footer>{count} {noun} &middot; served by Ferry</footer>\n</body>\n</html>\n"
    );
    page
}

/// Appends one entry's table row.
fn push_html_row(page: &mut String, entry: &Entry) {
    let class = if entry.is_dir { "dir" } else { "file" };
    let _ = write!(page, "<tr><td><a class=\"{class}\" href=\"");
    push_escaped(page, &entry.href());
    page.push_str("\">");
    push_escaped(page, &String::from_utf8_lossy(&entry.name));
    if entry.is_dir {
        page.push('/');
    }
    page.push_str("</a></td><td class=\"size\">");
    match entry.size {
        Some(bytes) => {
            let _ = write!(
                page,
                "<span title=\"{bytes} bytes\">{}</span>",
                HumanSize(bytes)
            );
        }
        None => page.push_str("&mdash;"),
    }
    page.push_str("</td><td>");
    if let Some(time) = entry.modified {
        let time = UtcTime::from(time);
        let _ = write!(
            page,
            "<time datetime=\"{}\">{} {:02}:{:02}</time>",
            time.rfc3339(),
            time.date(),
            time.hour,
            time.minute
        );
    }
    page.push_str("</td></tr>\n");
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;\
padding:0 1rem;color:#1f2328;background:#fff}h1{font-size:1.3rem;font-weight:600;word-break:break-all}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .6rem;\
border-bottom:1px solid #d8dee4}th{font-weight:600;color:#59636e}.size{text-align:right;\
white-space:nowrap}td:last-child{white-space:nowrap;color:#59636e}a{color:#0969da;\
text-decoration:none;word-break:break-all}a:hover{text-decoration:underline}a.dir{font-weight:600}\
footer{margin-top:1rem;color:#59636e;font-size:.85rem}@media(prefers-color-scheme:dark){\
body{color:#e6edf3;background:#0d1117}th,td{border-color:#30363d}a{color:#4493f8}}";

#[derive(Serialize)]
struct JsonListing<'a> {
    path: &'a str,
    entries: Vec<JsonEntry>,
}

#[derive(Serialize)]
struct JsonEntry {
    name: String,
    url: String,
    #[serde(rename = "type")]
    kind: &'static str,
    size: Option<u64>,
    modified: Option<String>,
}

/// The JSON form of a listing:
/// `{"path": "/dir/", "entries": [{"name", "url", "type", "size", "modified"}]}`.
pub(crate) fn render_json(url_path: &str, entries: &[Entry]) -> String {
    let listing = JsonListing {
        path: url_path,
        entries: entries
            .iter()
            .map(|entry| JsonEntry {
                name: entry.display_name(),
                url: entry.href(),
                kind: if entry.is_dir { "directory" } else { "file" },
                size: entry.size,
                modified: entry
                    .modified
                    .map(|time| UtcTime::from(time).rfc3339().to_string()),
            })
            .collect(),
    };
    serde_json::to_string(&listing).expect("a listing always serializes")
}

/// Appends `text` with the characters that are special in HTML text and attributes escaped.
fn push_escaped(out: &mut String, text: &str) {
    let mut rest = text;
    while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#39;",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

/// A size as people read it: `512 B`, `2.0 KiB`, `150 MiB`.
struct HumanSize(u64);

impl fmt::Display for HumanSize {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
        let bytes = self.0;
        if bytes < 1024 {
            return write!(out, "{bytes} B");
        }
        let mut value = bytes as f64 / 1024.0;
        let mut unit = 0;
        while value >= 1024.0 && unit + 1 < UNITS.len() {
            value /= 1024.0;
            unit += 1;
        }
        if value < 10.0 {
            write!(out, "{value:.1} {}", UNITS[unit])
        } else {
            write!(out, "{value:.0} {}", UNITS[unit])
        }
    }
}

/// A moment in UTC, split into calendar fields (times before 1970 read as 1970-01-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct UtcTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u64,
    minute: u64,
    second: u64,
}

impl From<SystemTime> for UtcTime {
    fn from(time: SystemTime) -> Self {
        let seconds = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |age| age.as_secs());
        let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
        let second_of_day = seconds % 86_400;
        UtcTime {
            year,
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day / 60 % 60,
            second: second_of_day % 60,
        }
    }
}

impl UtcTime {
    /// `YYYY-MM-DD`.
    fn date(self) -> impl fmt::Display {
        fmt::from_fn(move |out| write!(out, "{:04}-{:02}-{:02}", self.year, self.month, self.day))
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`.
    fn rfc3339(self) -> impl fmt::Display {
        fmt::from_fn(move |out| {
            write!(
                out,
                "{}T{:02}:{:02}:{:02}Z",
                self.date(),
                self.hour,
                self.minute,
                self.second
            )
        })
    }
}

/// Converts days since 1970-01-01 to a (year, month, day) civil date: the proleptic
/// Gregorian calendar computed through 400-year eras.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(name: &[u8], is_dir: bool) -> Entry {
        Entry {
            name: name.to_vec(),
            is_dir,
            size: (!is_dir).then_some(2048),
            modified: Some(UNIX_EPOCH + Duration::from_secs(1_763_781_611)),
        }
    }

    #[test]
    fn dates_convert_to_the_civil_calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
        let time = UtcTime::from(UNIX_EPOCH + Duration::from_secs(1_763_781_611));
        assert_eq!(time.rfc3339().to_string(), "2025-11-22T03:20:11Z");
        assert_eq!(time.date().to_string(), "2025-11-22");
    }

    #[test]
    fn sizes_read_naturally() {
        assert_eq!(HumanSize(512).to_string(), "512 B");
        assert_eq!(HumanSize(2048).to_string(), "2.0 KiB");
        assert_eq!(HumanSize(150 * 1024 * 1024).to_string(), "150 MiB");
    }

    #[test]
    fn html_escapes_names_and_encodes_links() {
        let entries = [
            entry(b"a <b> & \"c\".txt", false),
            entry(b"100% #1?.txt", false),
            entry(&[0x66, 0xff, 0x2e, 0x74], false),
            entry(b"my dir", true),
        ];
        let page = render_html("/sub <x>/", &entries);
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<h1>Directory listing for /sub &lt;x&gt;/</h1>"));
        assert!(page.contains("href=\"a%20%3Cb%3E%20&amp;%20%22c%22.txt\""));
        assert!(page.contains(">a &lt;b&gt; &amp; &quot;c&quot;.txt</a>"));
        assert!(page.contains("href=\"100%25%20%231%3F.txt\""));
        assert!(page.contains("href=\"f%FF.t\""));
        assert!(page.contains("href=\"my%20dir/\">my dir/</a>"));
        assert!(page.contains("href=\"../\""));
        assert!(page.contains("<span title=\"2048 bytes\">2.0 KiB</span>"));
        assert!(page.contains("<time datetime=\"2025-11-22T03:20:11Z\">2025-11-22 03:20</time>"));
        assert!(page.contains("<footer>4 entries &middot;"));
    }

    #[test]
    fn escaping_covers_every_special_character() {
        let mut out = String::new();
        push_escaped(&mut out, "x&y<z>\"q\"'s'é");
        assert_eq!(out, "x&amp;y&lt;z&gt;&quot;q&quot;&#39;s&#39;é");
    }

    #[test]
    fn root_listing_has_no_parent_link() {
        assert!(!render_html("/", &[]).contains("href=\"../\""));
    }

    #[test]
    fn json_lists_entries_with_types_and_links() {
        let json = render_json("/d/", &[entry(b"sub", true), entry(b"a b.txt", false)]);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["path"], "/d/");
        assert_eq!(value["entries"][0]["type"], "directory");
        assert_eq!(value["entries"][0]["url"], "sub/");
        assert_eq!(value["entries"][0]["size"], serde_json::Value::Null);
        assert_eq!(value["entries"][1]["url"], "a%20b.txt");
        assert_eq!(value["entries"][1]["size"], 2048);
        assert_eq!(value["entries"][1]["modified"], "2025-11-22T03:20:11Z");
    }

    #[cfg(unix)]
    #[test]
    fn reading_sorts_directories_first_and_hides_dot_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(dir.path()).unwrap();
        fs::write(root.join("b.txt"), "b").unwrap();
        fs::write(root.join("A.txt"), "a").unwrap();
        fs::write(root.join(".env"), "secret").unwrap();
        fs::create_dir(root.join("zdir")).unwrap();
        let policy = ListingPolicy {
            root: &root,
            show_hidden: false,
            follow_symlinks: false,
            private_files: &[],
        };
        let names: Vec<String> = read_entries(&root, policy)
            .unwrap()
            .iter()
            .map(Entry::display_name)
            .collect();
        assert_eq!(names, ["zdir", "A.txt", "b.txt"]);
        let with_hidden = read_entries(
            &root,
            ListingPolicy {
                show_hidden: true,
                ..policy
            },
        )
        .unwrap();
        assert_eq!(with_hidden.len(), 4);
    }
}
