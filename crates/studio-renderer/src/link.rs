//! Putting a store's `node_modules` into a checkout.
//!
//! The tree is recreated with hard links (directories are new, files share the store's inodes,
//! symlinks such as `.bin/*` are copied as symlinks) in a staging directory inside `.studio/`,
//! then exchanged with the checkout's `node_modules` in one `renameat2(RENAME_EXCHANGE)`: a
//! running renderer sees either the old tree or the new one, never a missing or partial one.
//! `.studio/deps-key` records which store entry is linked, so an unchanged checkout is left alone.

use std::fs;
use std::io::{self, ErrorKind};
use std::path::Path;

use rustix::fs::{CWD, RenameFlags, renameat_with};

use crate::error::RendererError;
use crate::fs_util::{remove_tree, write_if_changed};

/// Records the store key linked into a checkout.
const DEPS_KEY_FILE: &str = "deps-key";

/// Links `store` (a store's `node_modules`) into `<checkout>/node_modules` unless the entry with
/// `key` is already there. Returns whether it changed anything.
pub(crate) fn link_into_checkout(
    store: &Path,
    key: &str,
    checkout: &Path,
    studio_dir: &Path,
) -> Result<bool, RendererError> {
    let target = checkout.join("node_modules");
    let key_file = studio_dir.join(DEPS_KEY_FILE);
    let linked = fs::read_to_string(&key_file).unwrap_or_default();
    if linked.trim() == key && target.is_dir() {
        return Ok(false);
    }
    fs::create_dir_all(studio_dir).map_err(RendererError::io("create", studio_dir))?;
    crate::store::remove_stale_temporaries(studio_dir, "deps-staging-");
    let staging = studio_dir.join(format!("deps-staging-{:08x}", rand::random::<u32>()));
    let mut mode = LinkMode::HardLink;
    if let Err(e) = link_tree(store, &staging, &mut mode) {
        let _ = remove_tree(&staging);
        return Err(e);
    }
    if target.symlink_metadata().is_ok() {
        renameat_with(CWD, &staging, CWD, &target, RenameFlags::EXCHANGE)
            .map_err(|e| RendererError::io("swap in", &target)(io::Error::from(e)))?;
        // `staging` now holds the previous tree (or a file/symlink someone put there).
        if staging.is_dir() && !staging.is_symlink() {
            remove_tree(&staging)?;
        } else {
            fs::remove_file(&staging).map_err(RendererError::io("remove", &staging))?;
        }
    } else {
        fs::rename(&staging, &target).map_err(RendererError::io("move into place", &target))?;
    }
    write_if_changed(&key_file, key.as_bytes())?;
    Ok(true)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkMode {
    HardLink,
    /// The store is on another file system than the checkout: copy instead (slow but correct).
    Copy,
}

fn link_tree(from: &Path, to: &Path, mode: &mut LinkMode) -> Result<(), RendererError> {
    fs::create_dir(to).map_err(RendererError::io("create", to))?;
    for entry in fs::read_dir(from).map_err(RendererError::io("list", from))? {
        let entry = entry.map_err(RendererError::io("list", from))?;
        let (source, dest) = (entry.path(), to.join(entry.file_name()));
        let file_type = entry
            .file_type()
            .map_err(RendererError::io("inspect", &source))?;
        if file_type.is_dir() {
            link_tree(&source, &dest, mode)?;
        } else if file_type.is_symlink() {
            let points_to =
                fs::read_link(&source).map_err(RendererError::io("read link", &source))?;
            std::os::unix::fs::symlink(&points_to, &dest)
                .map_err(RendererError::io("create link", &dest))?;
        } else {
            link_file(&source, &dest, mode)?;
        }
    }
    Ok(())
}

fn link_file(source: &Path, dest: &Path, mode: &mut LinkMode) -> Result<(), RendererError> {
    if *mode == LinkMode::HardLink {
        match fs::hard_link(source, dest) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == ErrorKind::CrossesDevices => {
                tracing::warn!(store = %source.display(), "store and checkout are on different file systems; copying node_modules");
                *mode = LinkMode::Copy;
            }
            Err(e) => return Err(RendererError::io("hard-link", dest)(e)),
        }
    }
    fs::copy(source, dest)
        .map(drop)
        .map_err(RendererError::io("copy", dest))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    #[test]
    fn links_then_swaps_without_touching_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let (store_a, store_b) = (dir.path().join("a"), dir.path().join("b"));
        for (store, version) in [(&store_a, "1"), (&store_b, "2")] {
            fs::create_dir_all(store.join("react/.bin")).unwrap();
            fs::write(store.join("react/index.js"), version).unwrap();
            std::os::unix::fs::symlink("../index.js", store.join("react/.bin/react")).unwrap();
        }
        let checkout = dir.path().join("checkout");
        let studio = checkout.join(".studio");
        fs::create_dir_all(&checkout).unwrap();

        assert!(link_into_checkout(&store_a, "a", &checkout, &studio).unwrap());
        let linked = checkout.join("node_modules/react/index.js");
        assert_eq!(fs::read_to_string(&linked).unwrap(), "1");
        assert_eq!(
            fs::metadata(&linked).unwrap().ino(),
            fs::metadata(store_a.join("react/index.js")).unwrap().ino()
        );
        assert_eq!(
            fs::read_link(checkout.join("node_modules/react/.bin/react")).unwrap(),
            Path::new("../index.js")
        );
        assert!(
            !link_into_checkout(&store_a, "a", &checkout, &studio).unwrap(),
            "same key: nothing to do"
        );

        assert!(link_into_checkout(&store_b, "b", &checkout, &studio).unwrap());
        assert_eq!(fs::read_to_string(&linked).unwrap(), "2");
        assert_eq!(
            fs::read_to_string(store_a.join("react/index.js")).unwrap(),
            "1",
            "store untouched"
        );
        let leftovers: Vec<_> = fs::read_dir(&studio)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers,
            vec![std::ffi::OsString::from("deps-key")],
            "no staging left behind"
        );
    }
}
