//! The files every server is measured on, generated in a temporary directory that is removed
//! afterwards.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// The fixture tree and a scratch directory beside it; both removed when dropped.
#[derive(Debug)]
pub struct Fixtures {
    base: PathBuf,
    root: PathBuf,
    scratch: PathBuf,
}

impl Fixtures {
    /// Generates the fixtures under a new temporary directory:
    /// `small.html` (1 KiB), `medium.bin` (100 KiB), `large.bin` (10 MiB), `app.wasm`
    /// (2 MiB), `many/0000.html`…`many/0999.html` (1 KiB each) and `listing/` (100 files, no
    /// index). Binary files hold pseudo-random bytes, so compression cannot shrink them.
    pub fn create() -> io::Result<Self> {
        let base = unique_temp_dir()?;
        let fixtures = Fixtures {
            root: base.join("root"),
            scratch: base.join("scratch"),
            base,
        };
        fs::create_dir(&fixtures.root)?;
        fs::create_dir(&fixtures.scratch)?;
        make_readable(&fixtures.root)?;
        fixtures.write_all()?;
        Ok(fixtures)
    }

    /// The directory to serve.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A directory for generated configuration and server logs.
    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    fn write_all(&self) -> io::Result<()> {
        let root = &self.root;
        fs::write(root.join("small.html"), html_page(1024, "small"))?;
        fs::write(root.join("medium.bin"), noise(100 * 1024, 1))?;
        fs::write(root.join("large.bin"), noise(10 * 1024 * 1024, 2))?;
        let mut wasm = b"\0asm\x01\0\0\0".to_vec();
        wasm.extend(noise(2 * 1024 * 1024 - 8, 3));
        fs::write(root.join("app.wasm"), wasm)?;
        fs::create_dir(root.join("many"))?;
        for index in 0..1000 {
            fs::write(
                root.join(format!("many/{index:04}.html")),
                html_page(1024, &index.to_string()),
            )?;
        }
        fs::create_dir(root.join("listing"))?;
        for index in 0..100 {
            fs::write(
                root.join(format!("listing/file-{index:03}.txt")),
                format!("file {index}\n"),
            )?;
        }
        Ok(())
    }
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

/// Peers such as nginx read the files as another user.
fn make_readable(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o755))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn unique_temp_dir() -> io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for attempt in 0..100u32 {
        let candidate = base.join(format!("ferry-bench-{}-{attempt}", std::process::id()));
        match fs::create_dir(&candidate) {
            Ok(()) => {
                make_readable(&candidate)?;
                return Ok(candidate);
            }
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(io::Error::other(
        "cannot create a temporary directory for the fixtures",
    ))
}

/// An HTML page of exactly `len` bytes.
fn html_page(len: usize, title: &str) -> Vec<u8> {
    let head = format!("<!DOCTYPE html>\n<title>{title}</title>\n<p>");
    let tail = "</p>\n";
    let filler = len.saturating_sub(head.len() + tail.len());
    let mut page = head.into_bytes();
    page.extend(std::iter::repeat_n(b'x', filler));
    page.extend_from_slice(tail.as_bytes());
    page
}

/// `len` pseudo-random bytes (xorshift64*, seeded), the same on every run.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ seed;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_have_the_promised_sizes_and_go_away() {
        let fixtures = Fixtures::create().unwrap();
        let size = |p: &str| fs::metadata(fixtures.root().join(p)).unwrap().len();
        assert_eq!(size("small.html"), 1024);
        assert_eq!(size("medium.bin"), 100 * 1024);
        assert_eq!(size("large.bin"), 10 * 1024 * 1024);
        assert_eq!(size("app.wasm"), 2 * 1024 * 1024);
        assert_eq!(size("many/0999.html"), 1024);
        assert_eq!(
            fs::read_dir(fixtures.root().join("listing"))
                .unwrap()
                .count(),
            100
        );
        let root = fixtures.root().to_path_buf();
        assert!(fixtures.scratch().is_dir());
        drop(fixtures);
        assert!(!root.exists());
    }

    #[test]
    fn noise_is_deterministic_and_varied() {
        assert_eq!(noise(64, 1), noise(64, 1));
        assert_ne!(noise(64, 1), noise(64, 2));
        let sample = noise(4096, 7);
        let distinct: std::collections::HashSet<u8> = sample.iter().copied().collect();
        assert!(distinct.len() > 200);
    }
}
