//! Reading a session's working tree: directory listings, file contents and git blob ids, under
//! the same path guard as writes and stricter about symlinks.
//!
//! A path is first judged by [`RepoPath::parse`] (no `..` out, no `.git`, no generated folder),
//! then resolved on disk with every symlink followed (`canonicalize`): where it really lives must
//! be under the checkout's root, and its path there must pass the same rules again, so a link
//! `src/x -> ../../etc/passwd` or `src/gen -> ../node_modules` is refused, while a link that stays
//! inside the repository is followed (the same rule writes apply to parent directories; a read
//! applies it to the last component too). What is opened is then checked once more through
//! `/proc/self/fd`: a link swapped in between the check and the open is not read either.
//!
//! Listings hide what a read would refuse: `.git`, `.studio/` at the root, `node_modules/`
//! anywhere, the temporary files of writes in progress, links leading out (or nowhere) and
//! anything that is neither a file nor a directory (sockets, FIFOs, devices).
//!
//! Writes are atomic renames (`files.rs`), so a read sees a file's old or new content, never half
//! of it. Every function here is blocking; the async wrappers are on
//! [`GitWorkspace`](crate::GitWorkspace) and [`Session`](crate::Session).

use std::fs::{self, File};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use git2::{ObjectType, Oid};

use crate::error::{GitError, Result};
use crate::files::TEMP_PREFIX;
use crate::path_guard::{PathRefusal, RepoPath};

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name in its directory.
    pub name: String,
    /// Its path relative to the repository root (through the directory as it was named, links
    /// inside the repository included): what
    /// [`GitWorkspace::read_file`](crate::GitWorkspace::read_file) and writes take.
    pub path: String,
    pub kind: EntryKind,
    /// Bytes of a file (of its target, for a link); `None` for a directory.
    pub size: Option<u64>,
}

/// A file's content as text, with its git blob id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileText {
    /// The normalized path relative to the repository root.
    pub path: String,
    pub content: String,
    /// The blob id git gives these bytes (`git hash-object`), 40 hex digits.
    pub hash: String,
    pub size: u64,
}

/// The git blob id of `content`: what `git hash-object` prints for a file holding it.
pub fn blob_id(content: &[u8]) -> String {
    // Hashing never fails for an in-memory buffer; the fallback is never used.
    Oid::hash_object(ObjectType::Blob, content)
        .map(|oid| oid.to_string())
        .unwrap_or_default()
}

/// Lists the directory `input` of the checkout at `root` (`None`, empty or `.`: the root itself):
/// directories first, then files, each in byte order of the name.
pub(crate) fn list_dir(root: &Path, input: Option<&str>) -> Result<Vec<DirEntry>> {
    let root = canonical_root(root)?;
    let input = input.unwrap_or("");
    let trimmed = input.trim_end_matches('/');
    let dir = match RepoPath::parse(trimmed) {
        Ok(path) => Some(path),
        // "", ".", "src/.." (and "/", trimmed to nothing): the root. "/src" stays absolute.
        Err(PathRefusal::Empty) => None,
        Err(reason) => return Err(GitError::refused(input, reason)),
    };
    let real = match &dir {
        Some(path) => locate(&root, input, path)?,
        None => root.clone(),
    };
    let meta = fs::metadata(&real).map_err(|e| GitError::io(format!("inspect {input}"), e))?;
    if !meta.is_dir() {
        return Err(GitError::NotADirectory {
            path: input.to_owned(),
        });
    }
    let opened = File::open(&real).map_err(|e| GitError::io(format!("open {input}"), e))?;
    let through = verify_opened(&root, input, &opened, &real)?;
    let prefix = dir.as_ref().map(|d| format!("{}/", d.as_str()));
    let mut entries = Vec::new();
    let listing = fs::read_dir(&through).map_err(|e| GitError::io(format!("list {input}"), e))?;
    for entry in listing {
        let entry = entry.map_err(|e| GitError::io(format!("list {input}"), e))?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue; // Not UTF-8: no path a client could send names it.
        };
        if name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = format!("{}{name}", prefix.as_deref().unwrap_or(""));
        if RepoPath::parse(&path).as_ref().map(RepoPath::as_str) != Ok(path.as_str()) {
            continue; // `.git`, a generated folder, or a name the guard would not take.
        }
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let target = if file_type.is_symlink() {
            // Followed only when it stays inside and lands on an allowed path.
            match fs::canonicalize(entry.path()) {
                Ok(target) if inside(&root, &target) == Some(Ok(())) => target,
                _ => continue,
            }
        } else {
            entry.path()
        };
        let Ok(meta) = fs::metadata(&target) else {
            continue;
        };
        let (kind, size) = if meta.is_dir() {
            (EntryKind::Dir, None)
        } else if meta.is_file() {
            (EntryKind::File, Some(meta.len()))
        } else {
            continue;
        };
        entries.push(DirEntry {
            name,
            path,
            kind,
            size,
        });
    }
    entries.sort_by(|a, b| {
        (a.kind != EntryKind::Dir, a.name.as_bytes())
            .cmp(&(b.kind != EntryKind::Dir, b.name.as_bytes()))
    });
    Ok(entries)
}

/// Reads the file `input` of the checkout at `root` as UTF-8 text of at most `limit` bytes.
pub(crate) fn read_file(root: &Path, input: &str, limit: u64) -> Result<FileText> {
    let root = canonical_root(root)?;
    let path = RepoPath::parse(input).map_err(|r| GitError::refused(input, r))?;
    let (mut file, size) = open_file(&root, input, &path)?;
    if size > limit {
        return Err(GitError::FileTooLarge {
            path: path.to_string(),
            size,
            limit,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    (&mut file)
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| GitError::io(format!("read {path}"), e))?;
    let size = bytes.len() as u64;
    if size > limit {
        // It grew between the stat and the read.
        return Err(GitError::FileTooLarge {
            path: path.to_string(),
            size,
            limit,
        });
    }
    let hash = blob_id(&bytes);
    // NUL is valid UTF-8, but a file holding it is binary to git and to every editor.
    if bytes.contains(&0) {
        return Err(GitError::BinaryFile {
            path: path.to_string(),
        });
    }
    let content = String::from_utf8(bytes).map_err(|_| GitError::BinaryFile {
        path: path.to_string(),
    })?;
    Ok(FileText {
        path: path.to_string(),
        content,
        hash,
        size,
    })
}

/// The blob id of the file `input` now holds, `None` if there is no such file. The same guard
/// as [`read_file`], without a size limit or a text check (the bytes are hashed as they stream).
pub(crate) fn current_blob(root: &Path, input: &str) -> Result<Option<String>> {
    let root = canonical_root(root)?;
    let path = RepoPath::parse(input).map_err(|r| GitError::refused(input, r))?;
    let (file, _) = match open_file(&root, input, &path) {
        Ok(opened) => opened,
        Err(GitError::FileNotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let oid = Oid::hash_file(ObjectType::Blob, fd_path(&file)).map_err(|e| GitError::Git {
        context: "hash file",
        message: e.message().to_owned(),
    })?;
    Ok(Some(oid.to_string()))
}

/// Opens a regular file for reading, the guard applied to where it really is; with its size.
fn open_file(root: &Path, input: &str, path: &RepoPath) -> Result<(File, u64)> {
    let real = locate(root, input, path)?;
    let meta = fs::metadata(&real).map_err(|e| GitError::io(format!("inspect {input}"), e))?;
    if meta.is_dir() {
        return Err(GitError::refused(input, PathRefusal::IsDirectory));
    }
    if !meta.is_file() {
        return Err(GitError::NotRegularFile {
            path: path.to_string(),
        });
    }
    let file = File::open(&real).map_err(|e| GitError::io(format!("open {input}"), e))?;
    verify_opened(root, input, &file, &real)?;
    let meta = file
        .metadata()
        .map_err(|e| GitError::io(format!("inspect {input}"), e))?;
    if !meta.is_file() {
        return Err(GitError::NotRegularFile {
            path: path.to_string(),
        });
    }
    Ok((file, meta.len()))
}

/// Where `path` really is (every link followed), refused unless that is inside `root` at a path
/// the guard takes. A missing path (or one under a file) is [`GitError::FileNotFound`].
fn locate(root: &Path, input: &str, path: &RepoPath) -> Result<PathBuf> {
    let real = match fs::canonicalize(root.join(path.as_path())) {
        Ok(real) => real,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            // A dangling link is missing to the caller as well: there is nothing to read.
            return Err(GitError::FileNotFound {
                path: path.to_string(),
            });
        }
        // ELOOP: links that lead round in a circle lead nowhere inside.
        Err(e) if e.raw_os_error() == Some(40) => {
            return Err(GitError::refused(input, PathRefusal::SymlinkEscape));
        }
        // ENAMETOOLONG: the guard's limit plus the checkout's own path went past the kernel's.
        Err(e) if e.raw_os_error() == Some(36) => {
            return Err(GitError::refused(input, PathRefusal::TooLong));
        }
        Err(e) => return Err(GitError::io(format!("resolve {input}"), e)),
    };
    match inside(root, &real) {
        Some(Ok(())) => Ok(real),
        Some(Err(reason)) => Err(GitError::refused(input, reason)),
        None => Err(GitError::refused(input, PathRefusal::SymlinkEscape)),
    }
}

/// `None` if `real` is not under `root`; else whether its path there passes the guard (the root
/// itself passes).
fn inside(root: &Path, real: &Path) -> Option<Result<(), PathRefusal>> {
    let relative = real.strip_prefix(root).ok()?;
    let parts = relative
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    if parts.is_empty() {
        return Some(Ok(()));
    }
    Some(RepoPath::parse(&parts.join("/")).map(drop))
}

/// Checks that the descriptor opened for `real` is still that place under `root` (no link was
/// swapped in between [`locate`] and the open); returns a path that reaches the opened object.
fn verify_opened(root: &Path, input: &str, file: &File, real: &Path) -> Result<PathBuf> {
    let through = fd_path(file);
    let opened = fs::read_link(&through).map_err(|e| GitError::io(format!("check {input}"), e))?;
    if opened != real || inside(root, &opened) != Some(Ok(())) {
        return Err(GitError::refused(input, PathRefusal::SymlinkEscape));
    }
    Ok(through)
}

fn fd_path(file: &File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

fn canonical_root(root: &Path) -> Result<PathBuf> {
    fs::canonicalize(root).map_err(|e| GitError::io("resolve checkout", e))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    const LIMIT: u64 = 1024;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (path, content) in [
            ("package.json", "{}"),
            ("src/Button.tsx", "export const Button = 1;\n"),
            ("src/nested/deep.ts", "x"),
            (".git/HEAD", "ref: refs/heads/main\n"),
            (".studio/main.tsx", "generated"),
            ("node_modules/react/index.js", "react"),
            ("src/node_modules/x.js", "x"),
            (".studio-tmp-1-2", "half a write"),
        ] {
            fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
            fs::write(root.join(path), content).unwrap();
        }
        dir
    }

    fn code(e: GitError) -> &'static str {
        e.code()
    }

    #[test]
    fn blob_id_is_what_git_hash_object_prints() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert_eq!(blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
    }

    #[test]
    fn lists_dirs_then_files_and_hides_generated_and_git() {
        let dir = tree();
        let root = list_dir(dir.path(), None).unwrap();
        let names: Vec<_> = root
            .iter()
            .map(|e| (e.name.as_str(), e.kind, e.size))
            .collect();
        assert_eq!(
            names,
            [
                ("src", EntryKind::Dir, None),
                ("package.json", EntryKind::File, Some(2))
            ]
        );
        for same in ["", ".", "./", "src/.."] {
            assert_eq!(list_dir(dir.path(), Some(same)).unwrap(), root, "{same:?}");
        }
        let src = list_dir(dir.path(), Some("src/")).unwrap();
        let paths: Vec<_> = src.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(paths, ["src/nested", "src/Button.tsx"]);
        assert_eq!(src[1].size, Some(25));
    }

    #[test]
    fn listing_refuses_what_the_guard_refuses() {
        let dir = tree();
        for (input, want) in [
            ("..", "path_outside_repo"),
            ("src/../..", "path_outside_repo"),
            (".git", "path_in_git_dir"),
            ("node_modules", "path_generated"),
            (".studio", "path_generated"),
            ("/etc", "path_absolute"),
            ("missing", "file_not_found"),
            ("package.json", "not_a_directory"),
        ] {
            assert_eq!(
                code(list_dir(dir.path(), Some(input)).unwrap_err()),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn reads_text_with_its_blob_id() {
        let dir = tree();
        let file = read_file(dir.path(), "./src//Button.tsx", LIMIT).unwrap();
        assert_eq!(file.path, "src/Button.tsx");
        assert_eq!(file.content, "export const Button = 1;\n");
        assert_eq!(file.size, 25);
        assert_eq!(file.hash, blob_id(b"export const Button = 1;\n"));
        assert_eq!(
            current_blob(dir.path(), "src/Button.tsx").unwrap(),
            Some(file.hash)
        );
        assert_eq!(current_blob(dir.path(), "src/None.tsx").unwrap(), None);
    }

    #[test]
    fn reading_refuses_hostile_missing_binary_large_and_directories() {
        let dir = tree();
        fs::write(dir.path().join("logo.png"), [0x89, b'P', b'N', b'G', 0, 1]).unwrap();
        fs::write(dir.path().join("latin1.txt"), [b'c', 0xe9]).unwrap();
        fs::write(dir.path().join("big.txt"), "x".repeat(LIMIT as usize + 1)).unwrap();
        for (input, want) in [
            ("../etc/passwd", "path_outside_repo"),
            (".git/HEAD", "path_in_git_dir"),
            ("node_modules/react/index.js", "path_generated"),
            (".studio/main.tsx", "path_generated"),
            ("src/missing.tsx", "file_not_found"),
            ("package.json/x", "file_not_found"),
            ("src", "path_is_directory"),
            ("logo.png", "binary_file"),
            ("latin1.txt", "binary_file"),
            ("big.txt", "file_too_large"),
        ] {
            assert_eq!(
                code(read_file(dir.path(), input, LIMIT).unwrap_err()),
                want,
                "{input}"
            );
        }
    }

    #[test]
    fn links_are_followed_only_inside_the_repository() {
        let dir = tree();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("secret"), "secret").unwrap();
        let root = dir.path();
        symlink(outside.path().join("secret"), root.join("src/secret.txt")).unwrap();
        symlink(outside.path(), root.join("src/out")).unwrap();
        symlink("../node_modules", root.join("src/gen")).unwrap();
        symlink("../.git", root.join("src/g")).unwrap();
        symlink("Button.tsx", root.join("src/Alias.tsx")).unwrap();
        symlink("nested", root.join("src/inner")).unwrap();
        symlink("nowhere", root.join("src/dangling")).unwrap();
        symlink("loop", root.join("src/loop")).unwrap();
        for (input, want) in [
            ("src/secret.txt", "path_symlink_escape"),
            ("src/out/secret", "path_symlink_escape"),
            ("src/gen/react/index.js", "path_generated"),
            ("src/g/HEAD", "path_in_git_dir"),
            ("src/dangling", "file_not_found"),
            ("src/loop", "path_symlink_escape"),
        ] {
            assert_eq!(
                code(read_file(root, input, LIMIT).unwrap_err()),
                want,
                "{input}"
            );
        }
        assert_eq!(
            code(current_blob(root, "src/secret.txt").unwrap_err()),
            "path_symlink_escape"
        );
        assert_eq!(
            code(list_dir(root, Some("src/out")).unwrap_err()),
            "path_symlink_escape"
        );
        assert_eq!(
            read_file(root, "src/Alias.tsx", LIMIT).unwrap().content,
            "export const Button = 1;\n"
        );
        assert_eq!(
            list_dir(root, Some("src/inner")).unwrap()[0].path,
            "src/inner/deep.ts"
        );
        let listed: Vec<_> = list_dir(root, Some("src"))
            .unwrap()
            .into_iter()
            .map(|e| (e.name, e.kind))
            .collect();
        assert_eq!(
            listed,
            [
                ("inner".to_owned(), EntryKind::Dir),
                ("nested".to_owned(), EntryKind::Dir),
                ("Alias.tsx".to_owned(), EntryKind::File),
                ("Button.tsx".to_owned(), EntryKind::File),
            ]
        );
    }

    #[test]
    fn a_path_the_guard_takes_but_the_kernel_finds_too_long_is_no_io_error() {
        let dir = tree();
        let long = format!("{}b", "a/".repeat(2040));
        for e in [
            read_file(dir.path(), &long, LIMIT).unwrap_err(),
            list_dir(dir.path(), Some(&long)).unwrap_err(),
        ] {
            assert!(
                matches!(e.code(), "file_not_found" | "path_too_long"),
                "{e}"
            );
        }
        match current_blob(dir.path(), &long) {
            Ok(None) => {}
            Err(e) => assert_eq!(e.code(), "path_too_long", "{e}"),
            Ok(Some(hash)) => panic!("a blob of nothing: {hash}"),
        }
    }

    #[test]
    fn special_files_are_neither_listed_nor_read() {
        let dir = tree();
        let socket = dir.path().join("src/sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert_eq!(
            code(read_file(dir.path(), "src/sock", LIMIT).unwrap_err()),
            "not_a_regular_file"
        );
        assert!(
            list_dir(dir.path(), Some("src"))
                .unwrap()
                .iter()
                .all(|e| e.name != "sock")
        );
    }
}
