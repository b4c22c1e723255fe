//! Database URLs: which backend they name, how to build the default one, and how to print them
//! without leaking a password.

use std::fmt;
use std::path::Path;

use crate::error::{Result, StoreError};

/// The database engines Studio can keep its state in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An embedded SQLite file: the default, for one machine.
    Sqlite,
    /// A PostgreSQL server: for several Studio servers sharing state.
    Postgres,
}

impl Backend {
    /// The backend a URL names, from its scheme (`sqlite:`, `postgres:` or `postgresql:`).
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("sqlite") => Ok(Self::Sqlite),
            Some("postgres" | "postgresql") => Ok(Self::Postgres),
            _ => Err(StoreError::UnsupportedUrl {
                url: redact_url(url),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// File name of the embedded database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "studio.db";

/// The default database URL, `sqlite://<data-dir>/studio.db`.
///
/// Characters that mean something in a URL (`%`, `?`, `#`) are percent-encoded, so any data
/// directory works. The file is created on first connect; the directory must exist.
pub fn default_sqlite_url(data_dir: &Path) -> String {
    sqlite_url_for_path(&data_dir.join(SQLITE_FILE_NAME))
}

/// `sqlite://<path>` for a database file.
pub fn sqlite_url_for_path(path: &Path) -> String {
    let mut url = String::from("sqlite://");
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => url.push_str("%25"),
            '?' => url.push_str("%3F"),
            '#' => url.push_str("%23"),
            c => url.push(c),
        }
    }
    url
}

const MASK: &str = "***";

/// The URL with any password replaced by `***`, for logs and error messages.
///
/// Covers the userinfo password (`postgres://user:secret@host/db`) and a `password=` query
/// parameter. A string that does not parse as a URL is still masked between `:` and `@`, so a
/// typo never prints the secret it contains.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.has_host() => {
            if parsed.password().is_some() {
                // Cannot fail: the URL has a host, so it can carry a password.
                let _ = parsed.set_password(Some(MASK));
            }
            if parsed.query_pairs().any(|(k, _)| is_secret_param(&k)) {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if is_secret_param(&k) {
                            MASK.to_owned()
                        } else {
                            v.into_owned()
                        };
                        (k.into_owned(), v)
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        // sqlite:relative/path, sqlite::memory: and the like carry no credentials.
        Ok(_) => raw.to_owned(),
        Err(_) => redact_unparsed(raw),
    }
}

fn is_secret_param(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "password" | "sslpassword"
    )
}

/// Best effort for strings `url` rejects: mask from the first `:` after the scheme's `//` up to
/// the last `@` of the authority.
fn redact_unparsed(raw: &str) -> String {
    let Some((scheme, rest)) = raw.split_once("://") else {
        return raw.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let Some(at) = authority.rfind('@') else {
        return raw.to_owned();
    };
    let (userinfo, host) = authority.split_at(at);
    match userinfo.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:{MASK}{host}{tail}"),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            redact_url("postgres://studio:s3cr%40t@db.internal:5432/studio"),
            "postgres://studio:***@db.internal:5432/studio"
        );
        assert_eq!(
            redact_url("postgresql://db/studio?user=a&password=hunter2&sslmode=require"),
            "postgresql://db/studio?user=a&password=***&sslmode=require"
        );
        // Unparseable (bad port) but still masked.
        let bad = redact_url("postgres://u:hunter2@host:99999999/db");
        assert!(!bad.contains("hunter2"), "{bad}");
        assert_eq!(bad, "postgres://u:***@host:99999999/db");
    }

    #[test]
    fn urls_without_secrets_are_unchanged() {
        for url in [
            "postgres://postgres@127.0.0.1:5432/postgres",
            "sqlite://./.studio/studio.db",
            "sqlite:///var/lib/studio/studio.db",
            "sqlite::memory:",
            "not a url",
        ] {
            assert_eq!(redact_url(url), url);
        }
    }

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(
            Backend::from_url("sqlite://x.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://h/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("PostgreSQL://h/db").ok(),
            Some(Backend::Postgres)
        );
        let err = Backend::from_url("mysql://root:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("mysql://root:***@h/db"), "{err}");
        assert!(!err.contains("pw@"), "{err}");
    }

    #[test]
    fn default_url_escapes_url_syntax() {
        assert_eq!(
            default_sqlite_url(Path::new("./.studio")),
            "sqlite://./.studio/studio.db"
        );
        assert_eq!(
            sqlite_url_for_path(Path::new("/tmp/a?b#c%d/s.db")),
            "sqlite:///tmp/a%3Fb%23c%25d/s.db"
        );
    }
}
