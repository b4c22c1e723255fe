//! A PostgreSQL database of its own for one test, on the cluster named by
//! `STUDIO_TEST_POSTGRES_URL` (an admin URL; tests/run.sh starts a throwaway cluster and sets it),
//! dropped afterwards. Without the variable the test fails: it must never pass by not running.
//!
//! Shared by several test binaries, each using a different subset.
#![allow(dead_code)]

use std::process::Command;

pub struct Database {
    admin: String,
    name: String,
    pub url: String,
}

impl Database {
    pub fn create(prefix: &str) -> Self {
        let admin = std::env::var("STUDIO_TEST_POSTGRES_URL").expect(
            "STUDIO_TEST_POSTGRES_URL: run the tests through tests/run.sh, which starts PostgreSQL",
        );
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("studio_{prefix}_{:08x}_{nanos}", std::process::id());
        psql(&admin, &format!("CREATE DATABASE {name}"));
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Self {
            admin,
            name,
            url: url.to_string(),
        }
    }

    /// Runs `sql` in this database; its output, trimmed.
    pub fn psql(&self, sql: &str) -> String {
        psql(&self.url, sql)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                &self.admin,
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

fn psql(url: &str, sql: &str) -> String {
    let out = Command::new("psql")
        .args([url, "-XAtqc", sql])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "psql {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
