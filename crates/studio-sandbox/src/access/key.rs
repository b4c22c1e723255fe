//! The server key that signs preview links and cookies: 32 random bytes in
//! `<data-dir>/preview.key`, created with mode 0600 on first start and read on every later one,
//! so links and cookies survive a restart. It never appears in a log line or an error.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::ManagerError;

const KEY_BYTES: usize = 32;
const FILE_NAME: &str = "preview.key";

/// The signing key. Debug never prints it.
#[derive(Clone)]
pub(crate) struct PreviewKey([u8; KEY_BYTES]);

impl std::fmt::Debug for PreviewKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreviewKey(***)")
    }
}

impl PreviewKey {
    /// Reads the key of `data_dir`, creating it (0600) when there is none.
    pub(crate) fn load_or_create(data_dir: &Path) -> Result<Self, ManagerError> {
        let path = data_dir.join(FILE_NAME);
        let failed = |what: &str, e: std::io::Error| {
            ManagerError::internal(format!(
                "cannot {what} the preview key {}: {e}",
                path.display()
            ))
        };
        std::fs::create_dir_all(data_dir).map_err(|e| failed("create the directory of", e))?;
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
        {
            Ok(mut file) => {
                let key: [u8; KEY_BYTES] = rand::random();
                file.write_all(&key)
                    .and_then(|()| file.sync_all())
                    .map_err(|e| failed("write", e))?;
                tracing::info!(path = %path.display(), "created the preview signing key");
                Ok(Self(key))
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Self::read(path),
            Err(e) => Err(failed("create", e)),
        }
    }

    fn read(path: PathBuf) -> Result<Self, ManagerError> {
        let failed = |what: &str, e: String| {
            ManagerError::internal(format!(
                "cannot {what} the preview key {}: {e}",
                path.display()
            ))
        };
        let mut file = std::fs::File::open(&path).map_err(|e| failed("open", e.to_string()))?;
        let mode = file
            .metadata()
            .map_err(|e| failed("inspect", e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            // Someone loosened it (a copy, a restore): others of the machine could forge links.
            tracing::warn!(path = %path.display(), "the preview key was readable by others; set it to 0600");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| failed("restrict", e.to_string()))?;
        }
        let mut bytes = Vec::with_capacity(KEY_BYTES);
        file.read_to_end(&mut bytes)
            .map_err(|e| failed("read", e.to_string()))?;
        let key: [u8; KEY_BYTES] = bytes.try_into().map_err(|b: Vec<u8>| {
            failed(
                "use",
                format!(
                    "it has {} bytes instead of {KEY_BYTES}; delete it to make a new one \
                     (open previews then need new links)",
                    b.len()
                ),
            )
        })?;
        Ok(Self(key))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("studio-key-{:016x}", rand::random::<u64>()));
        let first = PreviewKey::load_or_create(&dir).expect("create");
        let path = dir.join(FILE_NAME);
        let mode = std::fs::metadata(&path)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = PreviewKey::load_or_create(&dir).expect("read");
        assert_eq!(first.bytes(), again.bytes());
        assert_eq!(format!("{first:?}"), "PreviewKey(***)");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        PreviewKey::load_or_create(&dir).expect("read a loose key");
        let mode = std::fs::metadata(&path)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "tightened again");

        std::fs::write(&path, b"short").expect("truncate");
        let err = PreviewKey::load_or_create(&dir).expect_err("a broken key");
        assert!(
            err.message.contains("5 bytes instead of 32"),
            "{}",
            err.message
        );
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
