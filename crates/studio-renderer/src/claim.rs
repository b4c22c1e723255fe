//! Making a checkout's `.studio/` and `node_modules/` Studio's own before anything reads them.
//!
//! Both are Studio's working directories inside a checkout, but a repository can track either:
//! a `node_modules/react` of its own, a `.studio/deps-key` naming the right store entry so the
//! tree is never relinked, a poisoned `.studio/.vite/deps` that would be published as every
//! sandbox's Vite seed, or a `.studio` symlink pointing elsewhere. So `.studio/owner` holds a
//! secret of the data directory (`<data>/renderer/owner-secret`, never in a repository); a
//! checkout whose `.studio/owner` does not hold it (first preparation, or anything the repository
//! brought along) has both directories removed before Studio generates, links or reads anything
//! in them. Later preparations of the same checkout find the secret and keep their work.

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::error::RendererError;
use crate::fs_util::{read_repository_file, remove_tree, write_if_changed};

/// The marker inside `.studio/`.
const OWNER_FILE: &str = "owner";
/// The secret's file under `<data>/renderer/`.
const SECRET_FILE: &str = "owner-secret";
/// Longer than any secret we write; a bigger marker is not ours.
const MARKER_CAP: u64 = 256;

/// Reads the data directory's secret, creating it on first use. Safe against a concurrent
/// process doing the same: the secret is written to a temporary file and hard-linked into place,
/// which fails if the other process won; then its secret is read.
pub(crate) fn load_secret(renderer_root: &Path) -> Result<String, RendererError> {
    fs::create_dir_all(renderer_root).map_err(RendererError::io("create", renderer_root))?;
    let path = renderer_root.join(SECRET_FILE);
    if !path.exists() {
        let secret = format!("{:032x}", rand::random::<u128>());
        let tmp = renderer_root.join(format!(".{SECRET_FILE}.{:08x}", rand::random::<u32>()));
        fs::write(&tmp, &secret).map_err(RendererError::io("write", &tmp))?;
        let linked = fs::hard_link(&tmp, &path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Err(e) => return Err(RendererError::io("create", &path)(e)),
        }
    }
    let secret = fs::read_to_string(&path).map_err(RendererError::io("read", &path))?;
    Ok(secret.trim().to_owned())
}

/// Removes `<checkout>/.studio` and `<checkout>/node_modules` unless `.studio/owner` holds
/// `secret`, then marks `.studio/` as Studio's. Returns whether it removed anything.
pub(crate) fn claim(checkout: &Path, secret: &str) -> Result<bool, RendererError> {
    let studio_dir = checkout.join(crate::STUDIO_DIR);
    let is_real_dir = studio_dir
        .symlink_metadata()
        .is_ok_and(|meta| meta.file_type().is_dir());
    // Any marker that is not a small regular file with the secret is someone else's.
    let owned = is_real_dir
        && read_repository_file(&studio_dir.join(OWNER_FILE), MARKER_CAP)
            .ok()
            .flatten()
            .is_some_and(|marker| marker == secret.as_bytes());
    if owned {
        return Ok(false);
    }
    let mut removed = false;
    for dir in [studio_dir.clone(), checkout.join("node_modules")] {
        removed |= remove_any(&dir)?;
    }
    fs::create_dir(&studio_dir).map_err(RendererError::io("create", &studio_dir))?;
    write_if_changed(&studio_dir.join(OWNER_FILE), secret.as_bytes())?;
    Ok(removed)
}

/// Removes whatever is at `path` (a tree, a file or a symlink, never what a symlink points at).
fn remove_any(path: &Path) -> Result<bool, RendererError> {
    match path.symlink_metadata() {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(RendererError::io("inspect", path)(e)),
        Ok(meta) if meta.file_type().is_dir() => remove_tree(path).map(|()| true),
        Ok(_) => fs::remove_file(path)
            .map(|()| true)
            .map_err(RendererError::io("remove", path)),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn tracked_directories_are_removed_once_and_studios_own_are_kept() {
        let data = tempfile::tempdir().unwrap();
        let secret = load_secret(data.path()).unwrap();
        assert_eq!(load_secret(data.path()).unwrap(), secret, "stable");
        assert_eq!(secret.len(), 32);

        let checkout = tempfile::tempdir().unwrap();
        let c = checkout.path();
        fs::create_dir_all(c.join("node_modules/react")).unwrap();
        fs::write(c.join("node_modules/react/index.js"), "poison").unwrap();
        fs::create_dir_all(c.join(".studio/.vite/deps")).unwrap();
        fs::write(c.join(".studio/deps-key"), "forged").unwrap();
        fs::write(c.join(".studio/owner"), "guessed").unwrap();
        assert!(claim(c, &secret).unwrap());
        assert!(!c.join("node_modules").exists());
        assert!(!c.join(".studio/deps-key").exists());
        assert!(!c.join(".studio/.vite").exists());

        // Studio's own work survives the next preparation.
        fs::write(c.join(".studio/deps-key"), "ours").unwrap();
        fs::create_dir(c.join("node_modules")).unwrap();
        assert!(!claim(c, &secret).unwrap());
        assert!(c.join(".studio/deps-key").is_file());
        assert!(c.join("node_modules").is_dir());

        // A `.studio` symlink is removed, not followed.
        let elsewhere = tempfile::tempdir().unwrap();
        fs::write(elsewhere.path().join("keep"), "x").unwrap();
        remove_tree(&c.join(".studio")).unwrap();
        symlink(elsewhere.path(), c.join(".studio")).unwrap();
        assert!(claim(c, &secret).unwrap());
        assert!(elsewhere.path().join("keep").is_file());
        assert!(c.join(".studio").symlink_metadata().unwrap().is_dir());
    }
}
