//! The path guard: which repository paths a session may write or delete.
//!
//! Two layers, both required:
//!
//! 1. [`RepoPath::parse`] is a pure function over the string. It normalizes `./` and `a/../b`
//!    lexically and refuses anything that could name a place outside the working tree or inside
//!    git's own data (absolute paths, `..` above the root, any `.git` component in any letter case,
//!    NUL bytes), or a generated folder we must never commit (`.studio/`, `node_modules/`).
//! 2. [`resolve`] checks the filesystem: every existing parent directory is canonicalized and must
//!    stay under the canonical root, so a symlink inside the repository that points elsewhere
//!    cannot be used to escape it. The lexical check alone would miss that.
//!
//! Because normalization happens before the filesystem is touched, `src/link/../x` is judged as
//! `src/x`, never as "wherever the kernel resolves `link/..` to".

use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Longest accepted path and path component, in bytes (the usual Linux limits).
const MAX_PATH_BYTES: usize = 4096;
const MAX_COMPONENT_BYTES: usize = 255;

/// Top-level folders that are generated and excluded from git.
const GENERATED_ROOTS: &[&str] = &[".studio"];
/// Folder names that are generated wherever they appear.
const GENERATED_ANYWHERE: &[&str] = &["node_modules"];

/// Declares [`PathRefusal`] from one table of variant, stable code and human reason, so that the
/// enum, [`PathRefusal::code`], `Display` and the list of every refusal cannot drift apart.
macro_rules! path_refusals {
    ($($variant:ident => $code:literal, $reason:literal;)+) => {
        /// Why a path was refused. `Display` is the human reason, [`PathRefusal::code`] the stable
        /// code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum PathRefusal {
            $($variant,)+
        }

        impl PathRefusal {
            /// Every refusal, in declaration order.
            #[cfg(test)]
            const ALL: &'static [Self] = &[$(Self::$variant,)+];

            pub fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            fn reason(self) -> &'static str {
                match self {
                    $(Self::$variant => $reason,)+
                }
            }
        }
    };
}

path_refusals! {
    Empty => "path_empty", "the path is empty or names the repository root";
    Absolute => "path_absolute",
        "absolute paths are not allowed; give a path relative to the repository root";
    NulByte => "path_nul_byte", "the path contains a NUL byte";
    TooLong => "path_too_long", "the path or one of its components is too long";
    OutsideRepository => "path_outside_repo", "`..` leads outside the repository";
    InsideGitDir => "path_in_git_dir", "paths inside `.git` are not allowed";
    Generated => "path_generated",
        "`.studio/` and `node_modules/` are generated and never written or committed";
    SymlinkEscape => "path_symlink_escape",
        "a parent directory is a symlink that leads outside the repository";
    NotADirectory => "path_parent_not_directory", "a parent of the path is a file, not a directory";
    IsDirectory => "path_is_directory", "the path names a directory, not a file";
}

impl fmt::Display for PathRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// A normalized path relative to the repository root: `/`-separated, no `.`/`..`/empty
/// components, no `.git`, not generated.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoPath(String);

impl RepoPath {
    /// The pure half of the guard. See the module documentation for the rules.
    pub fn parse(input: &str) -> Result<Self, PathRefusal> {
        Self::parse_with(input, false)
    }

    /// Like [`RepoPath::parse`] but accepts generated folders: used for paths that come out of
    /// the repository's own trees (a repository may track anything), never for caller input.
    pub(crate) fn parse_tracked(input: &str) -> Result<Self, PathRefusal> {
        Self::parse_with(input, true)
    }

    fn parse_with(input: &str, allow_generated: bool) -> Result<Self, PathRefusal> {
        if input.is_empty() {
            return Err(PathRefusal::Empty);
        }
        if input.contains('\0') {
            return Err(PathRefusal::NulByte);
        }
        if input.starts_with('/') {
            return Err(PathRefusal::Absolute);
        }
        if input.len() > MAX_PATH_BYTES {
            return Err(PathRefusal::TooLong);
        }
        if input.ends_with('/') {
            return Err(PathRefusal::IsDirectory);
        }
        let mut parts: Vec<&str> = Vec::new();
        for part in input.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() {
                        return Err(PathRefusal::OutsideRepository);
                    }
                }
                _ if part.len() > MAX_COMPONENT_BYTES => return Err(PathRefusal::TooLong),
                // Case-insensitive: on macOS/Windows clones `.GIT` is the same directory.
                _ if part.eq_ignore_ascii_case(".git") => return Err(PathRefusal::InsideGitDir),
                _ => parts.push(part),
            }
        }
        if parts.is_empty() {
            return Err(PathRefusal::Empty);
        }
        if !allow_generated {
            let generated_root = GENERATED_ROOTS.contains(&parts[0]);
            let generated_dir = parts.iter().any(|p| GENERATED_ANYWHERE.contains(p));
            if generated_root || generated_dir {
                return Err(PathRefusal::Generated);
            }
        }
        Ok(Self(parts.join("/")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path as git wants it in tree and index calls.
    pub(crate) fn as_path(&self) -> &Path {
        Path::new(&self.0)
    }

    fn split_parent(&self) -> (Option<&str>, &str) {
        match self.0.rsplit_once('/') {
            Some((parent, name)) => (Some(parent), name),
            None => (None, &self.0),
        }
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a guarded path really lives on disk.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// The path git must record: equal to the requested path unless a parent is a symlink that
    /// stays inside the repository, in which case it is the symlink's real location.
    pub repo_path: RepoPath,
    /// Absolute path of the file in the working tree.
    pub abs: PathBuf,
    /// Its parent directory (may not exist yet; create it with `create_dir_all`).
    pub parent: PathBuf,
}

/// Why the filesystem half of the guard refused, or an I/O error while checking.
#[derive(Debug)]
pub(crate) enum ResolveError {
    Refused(PathRefusal),
    Io(io::Error),
}

/// The filesystem half of the guard. `root` must be canonical (see `fs::canonicalize`).
///
/// Walks the parent directories that already exist; a symlink among them is followed and its
/// canonical target must lie under `root`. Missing parents are fine (the caller creates them
/// under a directory that was just proven to be inside). `allow_generated` as in
/// [`RepoPath::parse_tracked`].
pub(crate) fn resolve(
    root: &Path,
    path: &RepoPath,
    allow_generated: bool,
) -> Result<Resolved, ResolveError> {
    let (parent, name) = path.split_parent();
    let mut real_parent = root.to_path_buf();
    let mut missing_from: Option<usize> = None;
    let parent_parts: Vec<&str> = parent.map(|p| p.split('/').collect()).unwrap_or_default();
    for (i, part) in parent_parts.iter().enumerate() {
        let next = real_parent.join(part);
        match std::fs::symlink_metadata(&next) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing_from = Some(i);
                break;
            }
            Err(e) => return Err(ResolveError::Io(e)),
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = match std::fs::canonicalize(&next) {
                    Ok(t) => t,
                    // A dangling link: where it points is outside anything we can vouch for.
                    Err(_) => return Err(ResolveError::Refused(PathRefusal::SymlinkEscape)),
                };
                if !target.starts_with(root) {
                    return Err(ResolveError::Refused(PathRefusal::SymlinkEscape));
                }
                if !target.is_dir() {
                    return Err(ResolveError::Refused(PathRefusal::NotADirectory));
                }
                real_parent = target;
            }
            Ok(meta) if meta.is_dir() => real_parent = next,
            Ok(_) => return Err(ResolveError::Refused(PathRefusal::NotADirectory)),
        }
    }
    if let Some(i) = missing_from {
        for part in &parent_parts[i..] {
            real_parent.push(part);
        }
    }
    let abs = real_parent.join(name);
    // Re-derive the path git records from where the file really is, and run the pure rules on it
    // again: a link `src/gen -> ../node_modules` must not smuggle a write into a generated folder.
    let relative = abs
        .strip_prefix(root)
        .map_err(|_| ResolveError::Refused(PathRefusal::SymlinkEscape))?;
    let relative = relative
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .ok_or(ResolveError::Refused(PathRefusal::SymlinkEscape))?
        .join("/");
    let repo_path =
        RepoPath::parse_with(&relative, allow_generated).map_err(ResolveError::Refused)?;
    match std::fs::symlink_metadata(&abs) {
        Ok(meta) if meta.is_dir() => return Err(ResolveError::Refused(PathRefusal::IsDirectory)),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(ResolveError::Io(e)),
    }
    Ok(Resolved {
        repo_path,
        abs,
        parent: real_parent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(input: &str) -> PathRefusal {
        RepoPath::parse(input).expect_err(input)
    }

    #[test]
    fn normalizes_dots_and_slashes() {
        for (input, want) in [
            ("src/x.tsx", "src/x.tsx"),
            ("./src//x.tsx", "src/x.tsx"),
            ("src/./a/../x.tsx", "src/x.tsx"),
            ("a/b/../../c", "c"),
            (".gitignore", ".gitignore"),
            ("src/.github/x", "src/.github/x"),
            ("src/.studio/x", "src/.studio/x"),
        ] {
            assert_eq!(RepoPath::parse(input).unwrap().as_str(), want, "{input}");
        }
    }

    #[test]
    fn refuses_each_kind_of_hostile_path_with_its_reason() {
        assert_eq!(refused(""), PathRefusal::Empty);
        assert_eq!(refused("."), PathRefusal::Empty);
        assert_eq!(refused("src/.."), PathRefusal::Empty);
        assert_eq!(refused("/etc/passwd"), PathRefusal::Absolute);
        assert_eq!(refused("src/a\0b"), PathRefusal::NulByte);
        assert_eq!(refused(".."), PathRefusal::OutsideRepository);
        assert_eq!(refused("src/../../x"), PathRefusal::OutsideRepository);
        assert_eq!(refused("./../x"), PathRefusal::OutsideRepository);
        assert_eq!(refused(".git/HEAD"), PathRefusal::InsideGitDir);
        assert_eq!(refused("./.git/HEAD"), PathRefusal::InsideGitDir);
        assert_eq!(refused("src/.GIT/config"), PathRefusal::InsideGitDir);
        assert_eq!(refused(".git"), PathRefusal::InsideGitDir);
        assert_eq!(refused(".studio/main.tsx"), PathRefusal::Generated);
        assert_eq!(
            refused("node_modules/react/index.js"),
            PathRefusal::Generated
        );
        assert_eq!(
            refused("packages/ui/node_modules/x.js"),
            PathRefusal::Generated
        );
        assert_eq!(refused("src/"), PathRefusal::IsDirectory);
        assert_eq!(refused(&"a/".repeat(3000)), PathRefusal::TooLong);
        assert_eq!(refused(&"a".repeat(256)), PathRefusal::TooLong);
    }

    #[test]
    fn tracked_paths_may_live_in_generated_folders() {
        assert!(RepoPath::parse_tracked("node_modules/x.js").is_ok());
        assert_eq!(
            RepoPath::parse_tracked(".git/x"),
            Err(PathRefusal::InsideGitDir)
        );
    }

    #[test]
    fn every_refusal_has_a_distinct_code() {
        let all = PathRefusal::ALL;
        let mut codes: Vec<_> = all.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }
}
