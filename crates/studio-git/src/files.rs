//! Working-tree file operations: atomic writes, removals, and the index entries that describe them.
//!
//! Every write goes to a temporary file in the destination directory and is then renamed over the
//! destination. `rename(2)` within one directory is atomic, so a watcher (the Vite dev server)
//! sees either the old or the new content, never half a file.
//!
//! With [`Durability::Fsync`] (the default, `GitConfig::durable`) a write is also on disk before
//! it returns: the temporary file is fsync'd before the rename (otherwise a power loss after the
//! rename can leave the new name pointing at an empty or partial file), and the directory is
//! fsync'd after it (otherwise the rename itself may be lost), as is the parent of every
//! directory the write had to create. An edit is acknowledged only after this, so an
//! acknowledged edit survives a crash of the machine, not only of the process.

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

/// Whether a write waits for the disk (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Durability {
    Fsync,
    /// Page cache only: survives a crash of the process, not of the machine (benchmarks).
    Buffered,
}

impl Durability {
    pub fn of(durable: bool) -> Self {
        if durable { Self::Fsync } else { Self::Buffered }
    }
}

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

/// Writes `content` to `abs` atomically (temp file + rename in `parent`), creating `parent`;
/// with [`Durability::Fsync`], returns only once the content and the name are on disk.
pub(crate) fn atomic_write(
    parent: &Path,
    abs: &Path,
    content: &[u8],
    kind: Kind,
    durability: Durability,
) -> io::Result<()> {
    create_dirs(parent, durability)?;
    let temp = parent.join(temp_name());
    let written = match kind {
        // A symlink has no file to fsync; its target string is part of the inode that the
        // directory's fsync below commits along with the name.
        Kind::Symlink => std::os::unix::fs::symlink(Path::new(&bytes_to_os(content)), &temp),
        Kind::File | Kind::Executable => {
            write_new(&temp, content, kind == Kind::Executable, durability)
        }
    };
    let renamed = written.and_then(|()| fs::rename(&temp, abs));
    if renamed.is_err() {
        let _ = fs::remove_file(&temp);
        return renamed;
    }
    if durability == Durability::Fsync {
        sync_dir(parent)?;
    }
    Ok(())
}

fn write_new(
    path: &Path,
    content: &[u8],
    executable: bool,
    durability: Durability,
) -> io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(if executable { 0o755 } else { 0o644 })
        .open(path)?;
    file.write_all(content)?;
    if durability == Durability::Fsync {
        // Data before the rename: ext4 and others may otherwise commit the rename first.
        file.sync_data()?;
    }
    Ok(())
}

/// `create_dir_all`, and with [`Durability::Fsync`] the parent of every directory it created
/// fsync'd, so that the new directories' names survive a crash like the file's. (`dir` itself is
/// fsync'd by the caller after its rename.)
fn create_dirs(dir: &Path, durability: Durability) -> io::Result<()> {
    if durability == Durability::Buffered || dir.is_dir() {
        return fs::create_dir_all(dir);
    }
    let existing = dir.ancestors().skip(1).find(|d| d.is_dir());
    fs::create_dir_all(dir)?;
    if let Some(existing) = existing {
        // Every directory from the deepest one that existed down to `dir`'s parent gained an
        // entry.
        let created: Vec<&Path> = dir
            .ancestors()
            .skip(1)
            .take_while(|d| *d != existing)
            .collect();
        sync_dir(existing)?;
        for d in created {
            sync_dir(d)?;
        }
    }
    Ok(())
}

/// fsyncs a directory, making the names created or renamed in it durable.
fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
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
