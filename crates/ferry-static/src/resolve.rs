//! Finding a normalised request path on disk, inside the root, under the symlink policy.
//!
//! The root is canonicalised once at start-up. Without `--follow-symlinks`, each component
//! below the root is looked at with `lstat` (deepest first); a path that contains no symlink is inside the
//! root by construction (it was normalised first), and a path that does is canonicalised and
//! refused unless it still lies inside the root. For the usual request (no symlinks) this
//! costs one `lstat` per path segment and nothing else.
//!
//! These metadata calls run on the async thread: each is one bounded system call on a local
//! file system (nginx makes the same calls inline). Reading file content and listing
//! directories, whose cost grows with their size, happen on the blocking pool.

use std::fs::{self, Metadata};
use std::io;
use std::path::{Path, PathBuf};

/// A path found on disk.
#[derive(Debug)]
pub(crate) struct Found {
    /// The path to open (inside the root, possibly through symlinks that stay inside).
    pub path: PathBuf,
    /// Its metadata, symlinks followed.
    pub metadata: Metadata,
}

/// Why a path could not be served.
#[derive(Debug)]
pub(crate) enum Missing {
    /// Nothing there (or a file where a directory was expected): 404.
    NotFound,
    /// Refused: a symlink out of the root, or no permission: 403.
    Forbidden,
    /// Another I/O error: 500.
    Failed(io::Error),
}

impl From<io::Error> for Missing {
    fn from(error: io::Error) -> Self {
        match error.kind() {
            io::ErrorKind::NotFound
            | io::ErrorKind::NotADirectory
            | io::ErrorKind::InvalidFilename
            | io::ErrorKind::InvalidInput => Missing::NotFound,
            io::ErrorKind::PermissionDenied => Missing::Forbidden,
            _ if error.raw_os_error() == Some(ELOOP) => Missing::NotFound,
            _ => Missing::Failed(error),
        }
    }
}

/// `ELOOP`: too many levels of symbolic links (a symlink loop).
#[cfg(target_os = "linux")]
const ELOOP: i32 = 40;
#[cfg(not(target_os = "linux"))]
const ELOOP: i32 = 62;

/// Looks up `relative` (normalised, no `..`) under `root` (canonical).
pub(crate) fn find(root: &Path, relative: &Path, follow_symlinks: bool) -> Result<Found, Missing> {
    let mut full = PathBuf::with_capacity(root.as_os_str().len() + relative.as_os_str().len() + 1);
    full.push(root);
    full.push(relative);
    if follow_symlinks {
        let metadata = fs::metadata(&full)?;
        return Ok(Found {
            path: full,
            metadata,
        });
    }
    // The path and each of its parents below the root, deepest first (the same answers
    // as walking down: any symlink among them sends the path through canonicalisation,
    // and any failing lstat is the path's failure), with no path built per step.
    let below_root = relative.components().count();
    let mut deepest = None;
    for path in full.ancestors().take(below_root) {
        let metadata = fs::symlink_metadata(path)?;
        if metadata.file_type().is_symlink() {
            return find_through_symlink(root, full);
        }
        deepest.get_or_insert(metadata);
    }
    let metadata = match deepest {
        Some(metadata) => metadata,
        None => fs::metadata(root)?,
    };
    Ok(Found {
        path: full,
        metadata,
    })
}

/// A path with a symlink in it is served only if it resolves inside the root.
fn find_through_symlink(root: &Path, full: PathBuf) -> Result<Found, Missing> {
    let canonical = fs::canonicalize(&full)?;
    if !canonical.starts_with(root) {
        tracing::debug!(path = %full.display(), target = %canonical.display(), "symlink leads outside the root; refused");
        return Err(Missing::Forbidden);
    }
    let metadata = fs::metadata(&canonical)?;
    Ok(Found {
        path: canonical,
        metadata,
    })
}

/// Whether the symlink at `path` may be shown in a listing: it must resolve, and (unless
/// following symlinks everywhere) resolve inside the root.
pub(crate) fn symlink_target_allowed(
    root: &Path,
    path: &Path,
    follow_symlinks: bool,
) -> Option<Metadata> {
    if follow_symlinks {
        return fs::metadata(path).ok();
    }
    let canonical = fs::canonicalize(path).ok()?;
    if canonical.starts_with(root) {
        fs::metadata(&canonical).ok()
    } else {
        None
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    struct Tree {
        _outside: tempfile::TempDir,
        _root_dir: tempfile::TempDir,
        root: PathBuf,
    }

    fn tree() -> Tree {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        let root_dir = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(root_dir.path()).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/page.html"), "page").unwrap();
        symlink(outside.path().join("secret.txt"), root.join("escape.txt")).unwrap();
        symlink(outside.path(), root.join("escape-dir")).unwrap();
        symlink(root.join("sub/page.html"), root.join("inside.html")).unwrap();
        symlink(root.join("missing"), root.join("dangling")).unwrap();
        Tree {
            _outside: outside,
            _root_dir: root_dir,
            root,
        }
    }

    #[test]
    fn plain_files_and_directories_are_found() {
        let tree = tree();
        let found = find(&tree.root, Path::new("sub/page.html"), false).unwrap();
        assert!(found.metadata.is_file());
        assert!(
            find(&tree.root, Path::new(""), false)
                .unwrap()
                .metadata
                .is_dir()
        );
        assert!(matches!(
            find(&tree.root, Path::new("nope"), false),
            Err(Missing::NotFound)
        ));
        assert!(matches!(
            find(&tree.root, Path::new("sub/page.html/x"), false),
            Err(Missing::NotFound)
        ));
    }

    #[test]
    fn symlinks_out_of_the_root_are_forbidden_unless_followed() {
        let tree = tree();
        assert!(matches!(
            find(&tree.root, Path::new("escape.txt"), false),
            Err(Missing::Forbidden)
        ));
        assert!(matches!(
            find(&tree.root, Path::new("escape-dir/secret.txt"), false),
            Err(Missing::Forbidden)
        ));
        assert!(find(&tree.root, Path::new("escape.txt"), true).is_ok());
    }

    #[test]
    fn symlinks_inside_the_root_are_served() {
        let tree = tree();
        let found = find(&tree.root, Path::new("inside.html"), false).unwrap();
        assert_eq!(found.path, tree.root.join("sub/page.html"));
    }

    #[test]
    fn dangling_symlinks_are_not_found() {
        let tree = tree();
        assert!(matches!(
            find(&tree.root, Path::new("dangling"), false),
            Err(Missing::NotFound)
        ));
    }

    #[test]
    fn listing_shows_only_symlinks_that_stay_inside() {
        let tree = tree();
        assert!(
            symlink_target_allowed(&tree.root, &tree.root.join("inside.html"), false).is_some()
        );
        assert!(symlink_target_allowed(&tree.root, &tree.root.join("escape.txt"), false).is_none());
        assert!(symlink_target_allowed(&tree.root, &tree.root.join("dangling"), false).is_none());
        assert!(symlink_target_allowed(&tree.root, &tree.root.join("escape.txt"), true).is_some());
    }
}
