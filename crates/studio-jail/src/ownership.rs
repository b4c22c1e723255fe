//! Handing directories to the jail's uid and taking them back.
//!
//! Permissions decide what a jailed process may write inside the paths bound into its jail: it
//! owns only what Studio hands over (Vite's cache, an install in progress). Anything that is
//! shared afterwards (a finished dependency store) is taken back first, so that no jailed process
//! can later change what other sandboxes use.

use std::path::Path;

use rustix::fs::{AtFlags, CWD, Gid, Uid, chownat};

use crate::detect::Jail;
use crate::error::JailError;
use crate::identity::Identity;

impl Jail {
    /// Makes `path` and everything below it (symlinks themselves, never what they point to)
    /// owned by the jail's uid. Nothing to do when jailed processes keep Studio's uid.
    pub fn hand_over(&self, path: &Path) -> Result<(), JailError> {
        match self.run_as() {
            Some(identity) => chown_tree(path, identity),
            None => Ok(()),
        }
    }

    /// Whether `path` itself already belongs to the jail's uid (always, when jailed processes keep
    /// Studio's uid).
    pub fn owns(&self, path: &Path) -> bool {
        use std::os::unix::fs::MetadataExt;
        match self.run_as() {
            Some(identity) => {
                std::fs::symlink_metadata(path).is_ok_and(|m| m.uid() == identity.uid)
            }
            None => true,
        }
    }

    /// Makes `path` and everything below it Studio's again.
    pub fn take_back(&self, path: &Path) -> Result<(), JailError> {
        match self.run_as() {
            Some(_) => chown_tree(path, Identity::current()),
            None => Ok(()),
        }
    }
}

fn chown_tree(path: &Path, to: Identity) -> Result<(), JailError> {
    let metadata =
        std::fs::symlink_metadata(path).map_err(|e| JailError::io("inspect", path, e))?;
    chownat(
        CWD,
        path,
        Some(Uid::from_raw(to.uid)),
        Some(Gid::from_raw(to.gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| JailError::io("change the owner of", path, e.into()))?;
    if metadata.is_dir() {
        let entries = std::fs::read_dir(path).map_err(|e| JailError::io("list", path, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| JailError::io("list", path, e))?;
            chown_tree(&entry.path(), to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_tree_changes_owner_but_a_symlink_target_outside_it_does_not() {
        if !Identity::current().is_root() {
            return; // chown to another uid needs root; CI runs as root
        }
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, "x").unwrap();
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/file"), "y").unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("a/link")).unwrap();
        let to = Identity {
            uid: 4242,
            gid: 4243,
        };
        chown_tree(&tree, to).unwrap();
        for path in ["a", "a/b", "a/b/file"] {
            let meta = std::fs::symlink_metadata(tree.join(path)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (4242, 4243), "{path}");
        }
        let link = std::fs::symlink_metadata(tree.join("a/link")).unwrap();
        assert_eq!(link.uid(), 4242, "the link itself");
        assert_eq!(
            std::fs::metadata(&outside).unwrap().uid(),
            0,
            "not its target"
        );
        chown_tree(&tree, Identity::current()).unwrap();
        assert_eq!(std::fs::metadata(tree.join("a/b/file")).unwrap().uid(), 0);
    }
}
