//! The file service as a library: a directory served as `ferry serve` serves it (listings,
//! MIME types, Range and conditional requests, compression, cross-origin isolation off
//! here), with one route of your own beside it.
//!
//! Run it with:
//!
//! ```text
//! cargo run -p ferry-example-rust --example files -- examples/site
//! curl http://127.0.0.1:3000/              # the site's index.html
//! curl http://127.0.0.1:3000/api/time      # the route; files answer everything else
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

use ferry_core::App;
use ferry_static::{StaticFiles, StaticOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".to_owned());
    let files = StaticFiles::new(
        &dir,
        StaticOptions {
            listing: true,
            ..StaticOptions::default()
        },
    )?;
    println!(
        "serving {} at http://127.0.0.1:3000/",
        files.root().display()
    );
    App::new()
        .get("/api/time", |_request| async {
            let seconds = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_secs());
            format!("{seconds}\n")
        })
        .fallback(files)
        .serve("127.0.0.1:3000")
        .await?;
    Ok(())
}
