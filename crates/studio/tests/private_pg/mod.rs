//! A PostgreSQL cluster of one test's own (initdb into a temporary directory, `pg_ctl start` on a
//! free loopback port), so that the test may stop it or make it read-only without touching the
//! shared cluster of `STUDIO_TEST_POSTGRES_URL` other tests use. Dropping it stops it (by its own
//! `pg_ctl`, nothing else) and removes it.
//!
//! initdb refuses to run as root (CI does): as root, every PostgreSQL program runs as the
//! `postgres` system user (`runuser -u postgres --`), owning the directory, as tests/setup/postgres.sh
//! does.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl Cluster {
    /// A new cluster, started.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("studio-private-pg-")
            .tempdir()
            .unwrap();
        let cluster = Self {
            dir,
            bin: pg_bin(),
            port: studio_testkit::ports::free_port(),
        };
        if is_root() {
            run(Command::new("chown")
                .arg("postgres")
                .arg(cluster.dir.path()));
        }
        let data = cluster.data();
        let mut initdb = cluster.as_postgres("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "-U", "postgres", "--no-sync"]);
        run(&mut initdb);
        cluster.start_server();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// `pg_ctl start`, waiting (bounded: `-t 60`) until it accepts connections.
    pub fn start_server(&self) {
        let mut command = self.as_postgres("pg_ctl");
        command
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.log())
            .args(["-w", "-t", "60", "start", "-o"])
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1",
                self.port,
                self.dir.path().display()
            ));
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.log()).unwrap_or_default()
        );
    }

    /// `pg_ctl stop -m fast`, waiting (bounded: `-t 60`) until it is down.
    pub fn stop_server(&self) {
        let mut command = self.stop_command("fast");
        run(&mut command);
    }

    fn stop_command(&self, mode: &str) -> Command {
        let mut command = self.as_postgres("pg_ctl");
        command
            .arg("-D")
            .arg(self.data())
            .args(["-w", "-t", "60", "stop", "-m", mode]);
        command
    }

    /// The URL of database `name` on this cluster.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// Runs `sql` in database `name`; its output, trimmed.
    pub fn psql(&self, name: &str, sql: &str) -> String {
        let out = run(Command::new("psql").args([&self.url(name), "-XAtqc", sql]));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn as_postgres(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        if is_root() {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self.stop_command("immediate").output();
        }
    }
}

/// The newest PostgreSQL's programs (`/usr/lib/postgresql/<version>/bin`).
fn pg_bin() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's programs under /usr/lib/postgresql")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| Path::new(bin).join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("an initdb under /usr/lib/postgresql/*/bin")
        .1
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").unwrap().uid() == 0
}

fn run(command: &mut Command) -> Output {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
