//! How much disk a directory tree takes: allocated blocks, as `du` counts them.
//!
//! Blocks rather than file sizes, because the bound is about the disk; each inode counted once
//! per walk, because stores and checkouts share files through hard links and bind mounts. Symlinks are not
//! followed (a checkout's `node_modules` points into a store that is counted on its own).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The bytes allocated under `path` (0 if it does not exist). Blocking. Entries that vanish or
/// cannot be read during the walk are skipped: the figure is for deciding, not accounting.
pub(crate) fn disk_usage(path: &Path) -> u64 {
    let mut seen = HashSet::new();
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(meta) = fs::symlink_metadata(&next) else {
            continue;
        };
        // Every inode, not only hard-linked files: a bind mount (a pre-started renderer's drop
        // point) shows the same directories twice.
        if !seen.insert((meta.dev(), meta.ino())) {
            continue;
        }
        total += meta.blocks() * 512;
        if meta.is_dir()
            && let Ok(listing) = fs::read_dir(&next)
        {
            pending.extend(listing.flatten().map(|entry| entry.path()));
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_links_count_once_and_symlinks_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir(&tree).unwrap();
        fs::write(tree.join("a"), vec![7u8; 64 * 1024]).unwrap();
        let one = disk_usage(&tree);
        assert!(one >= 64 * 1024, "{one}");
        fs::hard_link(tree.join("a"), tree.join("b")).unwrap();
        assert_eq!(disk_usage(&tree), one, "a hard link adds no data");
        let outside = dir.path().join("outside");
        fs::create_dir(&outside).unwrap();
        fs::write(outside.join("big"), vec![7u8; 256 * 1024]).unwrap();
        std::os::unix::fs::symlink(&outside, tree.join("link")).unwrap();
        assert!(
            disk_usage(&tree) < one + 256 * 1024,
            "the link's target is not counted"
        );
        assert_eq!(disk_usage(&dir.path().join("missing")), 0);
    }
}
