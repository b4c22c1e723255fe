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

/// Reads a file that may legitimately be absent.
pub(crate) fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, RendererError> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RendererError::io("read", path)(e)),
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
