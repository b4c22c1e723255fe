//! Small file helpers with the two properties the renderer relies on: readers (Vite's watcher)
//! never see half-written files, and unchanged files are not touched (no spurious hot update).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::error::RendererError;

/// Writes `content` to `path` unless it already holds exactly that. Returns whether it wrote.
///
/// The new content goes to a temporary sibling that is renamed over `path`, so a watcher that
/// reacts to the change reads the whole file.
pub(crate) fn write_if_changed(path: &Path, content: &[u8]) -> Result<bool, RendererError> {
    match fs::read(path) {
        Ok(existing) if existing == content => return Ok(false),
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(RendererError::io("read", path)(e)),
    }
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", rand::random::<u32>()));
    fs::write(&tmp, content).map_err(RendererError::io("write", &tmp))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        RendererError::io("replace", path)(e)
    })?;
    Ok(true)
}

/// Largest `package.json` or `studio.json` read from a repository.
pub(crate) const MANIFEST_CAP: u64 = 1024 * 1024;
/// Largest lockfile (`package-lock.json`, `npm-shrinkwrap.json`) read from a repository.
pub(crate) const LOCKFILE_CAP: u64 = 32 * 1024 * 1024;

/// Reads a repository file that may be absent, without trusting it: a symlink (say to
/// `/dev/zero`), a device, a FIFO or a file over `cap` bytes is refused before any byte is read.
///
/// The file is opened with `O_NOFOLLOW` (a symlink fails to open) and `O_NONBLOCK` (a FIFO does
/// not block the open), then checked on the open descriptor, so swapping the file between the
/// check and the read changes nothing; reading stops after `cap + 1` bytes in case it grows.
pub(crate) fn read_repository_file(
    path: &Path,
    cap: u64,
) -> Result<Option<Vec<u8>>, RendererError> {
    use rustix::fs::{FileType, Mode, OFlags};
    use std::io::Read;

    let unsafe_file = |reason: String| RendererError::UnsafeManifest {
        path: path.to_owned(),
        reason,
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        // What `O_NOFOLLOW` answers for a symlink as the last component.
        Err(rustix::io::Errno::LOOP) => {
            return Err(unsafe_file("it is a symbolic link".into()));
        }
        Err(e) => return Err(RendererError::io("open", path)(e.into())),
    };
    let stat = rustix::fs::fstat(&fd).map_err(|e| RendererError::io("inspect", path)(e.into()))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(unsafe_file("it is not a regular file".into()));
    }
    let too_large = || unsafe_file(format!("it is larger than {cap} bytes"));
    if stat.st_size as u64 > cap {
        return Err(too_large());
    }
    let mut content = Vec::with_capacity(stat.st_size as usize);
    fs::File::from(fd)
        .take(cap + 1)
        .read_to_end(&mut content)
        .map_err(RendererError::io("read", path))?;
    if content.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(Some(content))
}

/// Marks an entry as used now (best effort: a stamp that fails makes an entry look older, which
/// only matters for an entry no checkout references).
pub(crate) fn touch(dir: &Path) {
    let now = fs::FileTimes::new().set_modified(std::time::SystemTime::now());
    if let Err(error) = fs::File::open(dir).and_then(|f| f.set_times(now)) {
        tracing::debug!(%error, dir = %dir.display(), "could not stamp the entry's last use");
    }
}

/// Removes a directory tree if it exists.
pub(crate) fn remove_tree(path: &Path) -> Result<(), RendererError> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(RendererError::io("remove", path)(e)),
    }
}

/// Finds an executable on `PATH`, as a shell would.
pub(crate) fn find_on_path(name: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// The `node` renderers run with: the first on Studio's `PATH`.
pub fn node_program() -> Result<std::path::PathBuf, RendererError> {
    find_on_path("node").ok_or(RendererError::ToolNotFound("node"))
}
