//! Store keys: which installed `node_modules` a set of manifests stands for.
//!
//! A key is the SHA-256 of everything that decides what `npm` installs: `package.json`, the
//! lockfile (`package-lock.json` or `npm-shrinkwrap.json`), `.npmrc`, and how we run npm. Two
//! checkouts with the same key get the very same store entry.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::RendererError;
use crate::fs_util::read_optional;

/// Bump when the way stores are installed changes, so old entries are not reused.
const STORE_FORMAT: &str = "studio-store-v1";
/// Hex digits of the hash used in directory names (128 bits).
const KEY_LEN: usize = 32;

/// Files npm installs from, in the order they are hashed (a missing file hashes as absent).
pub(crate) const MANIFESTS: [&str; 4] = [
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    ".npmrc",
];

/// The dependency manifests of a project directory and their store key.
#[derive(Debug, Clone)]
pub(crate) struct Manifests {
    pub key: String,
    /// `(file name, content)` of each manifest present.
    pub files: Vec<(&'static str, Vec<u8>)>,
}

impl Manifests {
    /// Reads the manifests of `dir`. `None` when it has no `package.json`.
    pub fn read(dir: &Path, install_flavour: &str) -> Result<Option<Self>, RendererError> {
        let mut files = Vec::new();
        for name in MANIFESTS {
            if let Some(content) = read_optional(&dir.join(name))? {
                files.push((name, content));
            }
        }
        if !files.iter().any(|(name, _)| *name == "package.json") {
            return Ok(None);
        }
        let key = key_of(&files, install_flavour);
        Ok(Some(Self { key, files }))
    }

    /// Whether npm can install exactly what a lockfile says (`npm ci`).
    pub fn has_lockfile(&self) -> bool {
        self.files
            .iter()
            .any(|(name, _)| matches!(*name, "package-lock.json" | "npm-shrinkwrap.json"))
    }
}

fn key_of(files: &[(&'static str, Vec<u8>)], install_flavour: &str) -> String {
    let mut hasher = Sha256::new();
    // Length-prefix every part so that no two different inputs hash the same byte stream.
    let mut part = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    part(STORE_FORMAT.as_bytes());
    part(install_flavour.as_bytes());
    part(std::env::consts::OS.as_bytes());
    part(std::env::consts::ARCH.as_bytes());
    for (name, content) in files {
        part(name.as_bytes());
        part(content);
    }
    let digest = hasher.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex[..KEY_LEN].to_owned()
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn key_follows_every_manifest_and_the_flavour() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            Manifests::read(dir.path(), "ci").unwrap().is_none(),
            "no package.json, no store"
        );

        fs::write(dir.path().join("package.json"), r#"{"name":"a"}"#).unwrap();
        let plain = Manifests::read(dir.path(), "ci").unwrap().unwrap();
        assert!(!plain.has_lockfile());
        assert_eq!(plain.key.len(), KEY_LEN);
        assert_eq!(
            Manifests::read(dir.path(), "ci").unwrap().unwrap().key,
            plain.key,
            "stable"
        );
        assert_ne!(
            Manifests::read(dir.path(), "scripts").unwrap().unwrap().key,
            plain.key
        );

        fs::write(dir.path().join("package-lock.json"), "{}").unwrap();
        let locked = Manifests::read(dir.path(), "ci").unwrap().unwrap();
        assert!(locked.has_lockfile());
        assert_ne!(locked.key, plain.key);

        fs::write(dir.path().join(".npmrc"), "registry=http://127.0.0.1:1/").unwrap();
        assert_ne!(
            Manifests::read(dir.path(), "ci").unwrap().unwrap().key,
            locked.key
        );
    }
}
