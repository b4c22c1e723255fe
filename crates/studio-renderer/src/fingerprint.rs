//! Store keys: which installed `node_modules` a set of manifests stands for.
//!
//! A key is the SHA-256 of everything that decides what `npm` installs: `package.json`, the
//! lockfile (`package-lock.json` or `npm-shrinkwrap.json`), the allowed lines of `.npmrc`, and how
//! we run npm. Two checkouts with the same key get the very same store entry.
//!
//! The files come from the repository, so they are read without following symlinks and with a
//! size cap ([`read_repository_file`]), and `.npmrc` keeps only the keys of [`NPMRC_ALLOWED`]: a
//! repository must not point npm at another registry, a git binary, a shell or credentials.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::RendererError;
use crate::fs_util::{LOCKFILE_CAP, MANIFEST_CAP, read_repository_file};

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

/// The `.npmrc` keys a repository may set: they change how npm resolves, never where from or what
/// it runs. Anything else (`registry`, `@scope:registry`, `//host/:_authToken`, `git`,
/// `script-shell`, `node-options`, proxies, `cache`…) is dropped.
pub(crate) const NPMRC_ALLOWED: [&str; 7] = [
    "legacy-peer-deps",
    "strict-peer-deps",
    "engine-strict",
    "save-exact",
    "save-prefix",
    "package-lock",
    "install-links",
];

/// The size cap of one manifest.
fn cap_of(name: &str) -> u64 {
    match name {
        "package-lock.json" | "npm-shrinkwrap.json" => LOCKFILE_CAP,
        _ => MANIFEST_CAP,
    }
}

/// The lines of a repository's `.npmrc` whose key is allowed, values without `${…}` expansion
/// (npm would substitute environment variables) or URLs.
fn filter_npmrc(content: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(content);
    let mut kept = String::new();
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if NPMRC_ALLOWED.contains(&key) && !value.contains('$') && !value.contains("://") {
            kept.push_str(&format!("{key}={value}\n"));
        }
    }
    kept.into_bytes()
}

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
            if let Some(content) = read_repository_file(&dir.join(name), cap_of(name))? {
                let content = if name == ".npmrc" {
                    filter_npmrc(&content)
                } else {
                    content
                };
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

        fs::write(dir.path().join(".npmrc"), "legacy-peer-deps=true\n").unwrap();
        let with_npmrc = Manifests::read(dir.path(), "ci").unwrap().unwrap();
        assert_ne!(with_npmrc.key, locked.key);

        // Dropped keys change neither the key nor what npm is given.
        fs::write(
            dir.path().join(".npmrc"),
            "legacy-peer-deps=true\nregistry=http://127.0.0.1:9/\ngit=/bin/evil\n\
             //registry.npmjs.org/:_authToken=secret\nscript-shell=/bin/sh\n\
             save-prefix=${HOME}\n",
        )
        .unwrap();
        let filtered = Manifests::read(dir.path(), "ci").unwrap().unwrap();
        assert_eq!(filtered.key, with_npmrc.key);
        let npmrc = &filtered
            .files
            .iter()
            .find(|(n, _)| *n == ".npmrc")
            .unwrap()
            .1;
        assert_eq!(npmrc.as_slice(), b"legacy-peer-deps=true\n");
    }

    #[test]
    fn symlinked_devices_fifos_and_oversized_manifests_are_refused_unread() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        symlink("/dev/zero", dir.path().join("package.json")).unwrap();
        let err = Manifests::read(dir.path(), "ci").unwrap_err();
        assert!(err.is_unsafe_manifest(), "{err}");
        assert!(err.to_string().contains("symbolic link"), "{err}");

        fs::remove_file(dir.path().join("package.json")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            dir.path().join("package.json"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = Manifests::read(dir.path(), "ci").unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");

        fs::remove_file(dir.path().join("package.json")).unwrap();
        fs::write(dir.path().join("package.json"), "{}").unwrap();
        let big = vec![b' '; (LOCKFILE_CAP + 1) as usize];
        fs::write(dir.path().join("package-lock.json"), &big).unwrap();
        let err = Manifests::read(dir.path(), "ci").unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
        fs::write(
            dir.path().join("package-lock.json"),
            &big[..LOCKFILE_CAP as usize],
        )
        .unwrap();
        assert!(Manifests::read(dir.path(), "ci").unwrap().is_some());
    }
}
