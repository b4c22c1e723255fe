//! The `bwrap` command line of one jail.

use std::path::{Path, PathBuf};

use crate::JAIL_HOME;

/// What one jailed process may see besides the base system (`/usr`, a few `/etc` files, `/proc`
/// of its own PID namespace, a minimal `/dev`, tmpfs `HOME` and `/tmp`). Every path is bound at
/// its own absolute path, so file names in logs and stack traces mean the same inside and out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JailSpec {
    /// Bound read-only.
    pub readable: Vec<PathBuf>,
    /// Bound read-write (file permissions still apply: the jail's uid writes only where it owns).
    pub writable: Vec<PathBuf>,
    /// Covered after the binds: a directory by an empty tmpfs, a file by `/dev/null`.
    pub hidden: Vec<PathBuf>,
    /// Drop points (`prepare_drop_point`): `(host directory, path inside)`, bound read-write at
    /// a path of the caller's choosing. What Studio mounts below the host directory later
    /// appears inside (see `propagate.rs`); this is the one bind whose inside path differs.
    pub drop_points: Vec<(PathBuf, PathBuf)>,
    /// The working directory inside.
    pub cwd: PathBuf,
    /// Size of each of the tmpfs `/tmp` and `HOME` (their pages also count against the memory
    /// limit of the cgroup the process runs in).
    pub tmp_bytes: u64,
    /// Kill the jail when the process that started it dies. Right for npm (its installer is the
    /// server); wrong for renderers, which must outlive a server restart to be re-adopted.
    pub die_with_parent: bool,
}

/// `Network` is not a choice: every jail gets a network namespace with only `lo`. The type
/// exists so call sites say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Only loopback, on which nothing of the host listens.
    None,
}

/// Top-level directories that are a symlink into `/usr` on merged-`/usr` systems and a real
/// directory elsewhere.
const SYSTEM_DIRS: [&str; 6] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

/// The `/etc` entries programs need to start, resolve users and verify TLS; nothing else of
/// `/etc` (an operator's config files, with their secrets) is visible.
const ETC_ENTRIES: [&str; 12] = [
    "/etc/alternatives",
    "/etc/ca-certificates",
    "/etc/group",
    "/etc/hosts",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/ssl",
    "/etc/os-release",
];

/// The arguments of `bwrap` that run `program args…` in the jail `spec` describes.
pub(crate) fn bwrap_args(spec: &JailSpec, program: &Path, args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = [
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--hostname",
        "studio-sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    .map(String::from)
    .to_vec();
    for dir in SYSTEM_DIRS {
        let path = Path::new(dir);
        match std::fs::read_link(path) {
            Ok(target) => push(
                &mut out,
                ["--symlink", &target.to_string_lossy(), dir].map(String::from),
            ),
            Err(_) if path.is_dir() => push(&mut out, ["--ro-bind", dir, dir].map(String::from)),
            Err(_) => {}
        }
    }
    for entry in ETC_ENTRIES {
        push(&mut out, ["--ro-bind-try", entry, entry].map(String::from));
    }
    let size = spec.tmp_bytes.to_string();
    push(
        &mut out,
        [
            "--proc", "/proc", "--dev", "/dev", "--size", &size, "--tmpfs", "/tmp", "--size",
            &size, "--tmpfs", JAIL_HOME,
        ]
        .map(String::from),
    );
    for path in &spec.readable {
        let path = path.to_string_lossy();
        push(&mut out, ["--ro-bind", &path, &path].map(String::from));
    }
    for path in &spec.writable {
        let path = path.to_string_lossy();
        push(&mut out, ["--bind", &path, &path].map(String::from));
    }
    for (host, inside) in &spec.drop_points {
        let (host, inside) = (host.to_string_lossy(), inside.to_string_lossy());
        push(&mut out, ["--bind", &host, &inside].map(String::from));
    }
    for path in &spec.hidden {
        let shown = path.to_string_lossy();
        if path.is_dir() {
            push(&mut out, ["--tmpfs", &shown].map(String::from));
        } else {
            push(
                &mut out,
                ["--ro-bind", "/dev/null", &shown].map(String::from),
            );
        }
    }
    push(
        &mut out,
        ["--chdir", &spec.cwd.to_string_lossy()].map(String::from),
    );
    if spec.die_with_parent {
        out.push("--die-with-parent".into());
    }
    out.push("--".into());
    out.push(program.to_string_lossy().into_owned());
    out.extend(args.iter().cloned());
    out
}

fn push<const N: usize>(out: &mut Vec<String>, items: [String; N]) {
    out.extend(items);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> JailSpec {
        JailSpec {
            readable: vec!["/data/renderer/template/abc".into()],
            writable: vec!["/data/sandboxes/x/checkout".into()],
            hidden: vec!["/nonexistent-file-to-cover".into()],
            drop_points: Vec::new(),
            cwd: "/data/sandboxes/x/checkout".into(),
            tmp_bytes: 1 << 20,
            die_with_parent: false,
        }
    }

    fn position(args: &[String], window: &[&str]) -> usize {
        args.windows(window.len())
            .position(|w| w.iter().zip(window).all(|(a, b)| a == b))
            .unwrap_or_else(|| panic!("{window:?} not in {args:?}"))
    }

    #[test]
    fn binds_come_after_the_tmpfs_they_may_live_in_and_the_command_comes_last() {
        let args = bwrap_args(&spec(), Path::new("/usr/bin/node"), &["server.mjs".into()]);
        let tmp = position(&args, &["--tmpfs", "/tmp"]);
        let rw = position(
            &args,
            &[
                "--bind",
                "/data/sandboxes/x/checkout",
                "/data/sandboxes/x/checkout",
            ],
        );
        let ro = position(&args, &["--ro-bind", "/data/renderer/template/abc"]);
        let hidden = position(
            &args,
            &["--ro-bind", "/dev/null", "/nonexistent-file-to-cover"],
        );
        assert!(tmp < ro && ro < rw && rw < hidden, "{args:?}");
        assert_eq!(
            &args[args.len() - 3..],
            ["--", "/usr/bin/node", "server.mjs"]
        );
        assert!(!args.contains(&"--die-with-parent".to_owned()));
        assert!(!args.iter().any(|a| a == "--share-net"), "no network");
        assert_eq!(args.iter().filter(|a| *a == "--size").count(), 2);
    }

    #[test]
    fn the_whole_data_dir_is_never_bound_only_the_paths_named() {
        let args = bwrap_args(&spec(), Path::new("/usr/bin/node"), &[]);
        assert!(
            !args.iter().any(|a| a == "/data" || a == "/data/"),
            "{args:?}"
        );
        assert!(
            !args.iter().any(|a| a == "/etc"),
            "only chosen /etc entries: {args:?}"
        );
    }
}
