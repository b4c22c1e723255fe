//! Working-tree file operations: atomic writes, removals, and the index entries that describe them.
//!
//! Every write goes to a temporary file in the destination directory and is then renamed over the
//! destination. `rename(2)` within one directory is atomic, so a watcher (the Vite dev server)
//! sees either the old or the new content, never half a file. No `fsync`: the durable record of
//! an edit is the git commit, and waiting for the disk would cost milliseconds per edit.

use std::fs::{self, Metadata, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use git2::{FileMode, IndexEntry, IndexTime, Oid};

use crate::path_guard::RepoPath;

/// Prefix of temporary files; listed in `info/exclude` so an interrupted write never shows up as
/// an untracked file in `git status`.
pub(crate) const TEMP_PREFIX: &str = ".studio-tmp-";

/// How a blob is materialized in the working tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    File,
    Executable,
    Symlink,
}

impl Kind {
    pub fn from_mode(mode: i32) -> Option<Self> {
        match mode {
            m if m == i32::from(FileMode::Blob) => Some(Self::File),
            m if m == i32::from(FileMode::BlobExecutable) => Some(Self::Executable),
            m if m == i32::from(FileMode::Link) => Some(Self::Symlink),
            _ => None,
        }
    }

    pub fn mode(self) -> FileMode {
        match self {
            Self::File => FileMode::Blob,
            Self::Executable => FileMode::BlobExecutable,
            Self::Symlink => FileMode::Link,
        }
    }
}

/// Writes `content` to `abs` atomically (temp file + rename in `parent`), creating `parent`.
pub(crate) fn atomic_write(
    parent: &Path,
    abs: &Path,
    content: &[u8],
    kind: Kind,
) -> io::Result<()> {
    fs::create_dir_all(parent)?;
    let temp = parent.join(temp_name());
    let written = match kind {
        Kind::Symlink => std::os::unix::fs::symlink(Path::new(&bytes_to_os(content)), &temp),
        Kind::File | Kind::Executable => write_new(&temp, content, kind == Kind::Executable),
    };
    let renamed = written.and_then(|()| fs::rename(&temp, abs));
    if renamed.is_err() {
        let _ = fs::remove_file(&temp);
    }
    renamed
}

fn write_new(path: &Path, content: &[u8], executable: bool) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o755 } else { 0o644 })
        .open(path)?;
    file.write_all(content)
}

fn temp_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{TEMP_PREFIX}{}-{n}", std::process::id())
}

fn bytes_to_os(bytes: &[u8]) -> std::ffi::OsString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(bytes).to_os_string()
}

/// True if `abs` is a regular file whose bytes equal `content` (cheap when sizes differ).
pub(crate) fn has_content(abs: &Path, content: &[u8]) -> bool {
    let Ok(meta) = fs::symlink_metadata(abs) else {
        return false;
    };
    if !meta.is_file() || meta.len() != content.len() as u64 {
        return false;
    }
    let mut existing = Vec::with_capacity(content.len());
    fs::File::open(abs)
        .and_then(|mut f| f.read_to_end(&mut existing))
        .is_ok_and(|_| existing == content)
}

/// Removes a file or symlink (never a directory), then every parent directory it leaves empty,
/// up to but excluding `root`. Returns whether the file existed.
pub(crate) fn remove_file_and_empty_parents(root: &Path, abs: &Path) -> io::Result<bool> {
    match fs::remove_file(abs) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    let mut dir = abs.parent();
    while let Some(d) = dir {
        // `remove_dir` refuses non-empty directories, which is exactly where we must stop.
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
    Ok(true)
}

/// An index entry for `path` with the stat data of the file just written, so that git sees the
/// file as clean without re-reading it.
pub(crate) fn index_entry(path: &RepoPath, id: Oid, kind: Kind, meta: &Metadata) -> IndexEntry {
    // The index format stores 32-bit fields; truncation is what git itself does.
    let time = |secs: i64, nanos: i64| IndexTime::new(secs as i32, nanos as u32);
    IndexEntry {
        ctime: time(meta.ctime(), meta.ctime_nsec()),
        mtime: time(meta.mtime(), meta.mtime_nsec()),
        dev: meta.dev() as u32,
        ino: meta.ino() as u32,
        mode: i32::from(kind.mode()) as u32,
        uid: meta.uid(),
        gid: meta.gid(),
        file_size: meta.len() as u32,
        id,
        flags: path.as_str().len().min(0xfff) as u16,
        flags_extended: 0,
        path: path.as_str().as_bytes().to_vec(),
    }
}
