//! Parsing the targets of probes and dependencies (`http://` URLs, `host:port` addresses,
//! `postgres://` URLs): pure functions shared by spec validation and the checks in `probe`.

use url::Url;

/// Where an `http://` URL points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HttpTarget {
    /// `host:port` to connect to.
    pub addr: String,
    /// `Host` header value.
    pub host: String,
    /// Path and query to request.
    pub path: String,
}

pub(crate) fn parse_http_url(url: &str) -> Result<HttpTarget, String> {
    let parsed = Url::parse(url).map_err(|e| format!("invalid probe URL {url:?}: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!("probe URL {url:?}: only http:// is supported"));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("probe URL {url:?} has no host"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let path = match parsed.query() {
        Some(query) => format!("{}?{query}", parsed.path()),
        None => parsed.path().to_owned(),
    };
    Ok(HttpTarget {
        addr: format!("{host}:{port}"),
        host: format!("{host}:{port}"),
        path,
    })
}

/// A request target for a probe over a Unix socket: starts with `/`, no spaces or line breaks
/// (it is written into the request line as it is).
pub(crate) fn validate_request_path(path: &str) -> Result<(), String> {
    if path.starts_with('/') && !path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        Err(format!(
            "request path {path:?} must start with / and hold no spaces"
        ))
    }
}

pub(crate) fn validate_addr(addr: &str) -> Result<(), String> {
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => Err(format!("address {addr:?} is not host:port")),
    }
}

/// Where a `postgres://` URL points. The password is never kept: the check does not log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PgTarget {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

pub(crate) fn parse_postgres_url(url: &str) -> Result<PgTarget, String> {
    // The error must not echo the URL: it may carry a password.
    let parsed = Url::parse(url).map_err(|e| format!("invalid PostgreSQL URL: {e}"))?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err("a PostgreSQL URL starts with postgres:// or postgresql://".into());
    }
    let host = parsed.host_str().ok_or("the PostgreSQL URL has no host")?;
    let user = match parsed.username() {
        "" => "postgres".to_owned(),
        user => user.to_owned(),
    };
    let database = match parsed.path().trim_start_matches('/') {
        "" => user.clone(),
        db => db.to_owned(),
    };
    Ok(PgTarget {
        host: host.to_owned(),
        port: parsed.port().unwrap_or(5432),
        user,
        database,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Dependency;

    #[test]
    fn http_urls_are_split_into_address_and_path() {
        let t = parse_http_url("http://127.0.0.1:5173/__health?x=1").unwrap();
        assert_eq!(t.addr, "127.0.0.1:5173");
        assert_eq!(t.path, "/__health?x=1");
        assert!(parse_http_url("https://example.com/").is_err());
        assert!(parse_http_url("not a url").is_err());
    }

    #[test]
    fn postgres_urls_default_user_and_database_and_hide_passwords() {
        let t = parse_postgres_url("postgres://alice:s3cret@db.local:6543/app").unwrap();
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.user.as_str(),
                t.database.as_str()
            ),
            ("db.local", 6543, "alice", "app")
        );
        let t = parse_postgres_url("postgresql://localhost").unwrap();
        assert_eq!(
            (t.port, t.user.as_str(), t.database.as_str()),
            (5432, "postgres", "postgres")
        );
        let shown = Dependency::Postgres("postgres://alice:s3cret@db.local/app".into()).to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        let err = parse_postgres_url("mysql://alice:s3cret@x").unwrap_err();
        assert!(!err.contains("s3cret"));
    }
}
