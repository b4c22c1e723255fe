//! The pattern matcher, the address classification and the local-source rules.

use std::net::IpAddr;
use std::path::Path;

use super::*;
use crate::source::RepoSource;

fn policy(patterns: &[&str], allow_local: bool) -> SourcePolicy {
    let patterns = patterns
        .iter()
        .map(|p| SourcePattern::parse(p).unwrap())
        .collect();
    SourcePolicy::new(patterns, allow_local, "github.com")
}

fn code(result: Result<(), GitError>) -> &'static str {
    result.err().map_or("ok", |e| e.code())
}

#[test]
fn patterns_match_scheme_host_port_and_path() {
    let p = policy(
        &[
            "https://github.com/*",
            "https://ghe.example.com/team/*",
            "ssh://git.example.com:2222/*",
        ],
        false,
    );
    for ok in [
        "https://github.com/acme/ui.git",
        "https://GitHub.com/acme/ui",
        "https://github.com:443/acme/ui",
        "https://ghe.example.com/team/app.git",
        "ssh://git@git.example.com:2222/x/y.git",
    ] {
        assert_eq!(code(p.check_remote(ok)), "ok", "{ok}");
    }
    for refused in [
        "http://github.com/acme/ui.git",
        "https://github.com:8443/acme/ui.git",
        "https://github.com.evil.example/acme/ui.git",
        "https://ghe.example.com/other/app.git",
        "ssh://git@git.example.com/x/y.git",
        "git@github.com:acme/ui.git",
        "https://evil.example/x.git",
    ] {
        assert_eq!(
            code(p.check_remote(refused)),
            "source_not_allowed",
            "{refused}"
        );
    }
}

#[test]
fn scp_like_sources_match_as_ssh() {
    let p = policy(&["ssh://github.com/acme/*"], false);
    assert_eq!(code(p.check_remote("git@github.com:acme/ui.git")), "ok");
    assert_eq!(
        code(p.check_remote("git@github.com:other/ui.git")),
        "source_not_allowed"
    );
}

#[test]
fn glob_stars_match_any_run() {
    assert!(glob("/*", "/a/b/c.git"));
    assert!(glob("/team/*.git", "/team/x/y.git"));
    assert!(!glob("/team/*.git", "/team/x/y"));
    assert!(glob("/a*b*c", "/aXXbYYc"));
    assert!(!glob("/a*b*c", "/aXXbYY"));
    assert!(glob("/exact", "/exact"));
    assert!(!glob("/exact", "/exact/more"));
}

#[test]
fn invalid_patterns_say_why() {
    for bad in [
        "github.com/*",
        "ftp://host/*",
        "https:///x",
        "https://u@host/*",
        "https://host:port/*",
        "https://a*b.example/*",
    ] {
        assert!(SourcePattern::parse(bad).is_err(), "{bad} accepted");
    }
    assert!(SourcePattern::parse("https://[::1]:8080/*").is_ok());
    assert!(SourcePattern::parse("https://[::1]/*").is_ok());
}

#[test]
fn default_patterns_cover_github_and_the_enterprise_host() {
    let p = SourcePolicy::new(
        SourcePolicy::default_patterns("ghe.example.com"),
        false,
        "ghe.example.com",
    );
    assert_eq!(code(p.check_remote("https://github.com/a/b.git")), "ok");
    assert_eq!(
        code(p.check_remote("https://ghe.example.com/a/b.git")),
        "ok"
    );
    assert_eq!(
        code(p.check_remote("https://gitlab.com/a/b.git")),
        "source_not_allowed"
    );
    assert_eq!(SourcePolicy::default_patterns("github.com").len(), 1);
}

#[test]
fn credentials_in_the_user_part_are_refused() {
    let p = policy(&["https://github.com/*"], false);
    for bad in [
        "https://user@github.com/a/b.git",
        "https://user:pw@github.com/a/b.git",
        "https://ghp_token@github.com/a/b.git",
    ] {
        let err = p.check_remote(bad).unwrap_err();
        assert_eq!(err.code(), "source_not_allowed");
        assert!(!err.to_string().contains("ghp_token"), "{err}");
    }
    // Even with no patterns (the library default).
    let open = SourcePolicy::default();
    assert_eq!(
        code(open.check_remote("https://user@example.com/a.git")),
        "source_not_allowed"
    );
}

#[test]
fn wildcard_hosts_are_refused_when_they_resolve_inside() {
    let p = policy(&["http://*:*/*", "https://*.localhost/*"], false);
    for inside in [
        "http://127.0.0.1:9/x.git",
        "http://localhost:9/x.git",
        "http://[::1]:9/x.git",
        "http://10.1.2.3/x.git",
        "http://169.254.169.254/x.git",
    ] {
        let err = p.check_remote(inside).unwrap_err();
        assert!(err.to_string().contains("loopback"), "{inside}: {err}");
    }
    // A pattern naming the host exactly is the operator's choice.
    assert_eq!(
        code(p.check_remote("https://x.localhost/x.git")),
        "source_not_allowed"
    );
    let named = policy(&["http://localhost:9/*", "http://127.0.0.1:*/*"], false);
    assert_eq!(code(named.check_remote("http://localhost:9/x.git")), "ok");
    assert_eq!(code(named.check_remote("http://127.0.0.1:9/x.git")), "ok");
}

#[test]
fn addresses_are_classified() {
    for internal in [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ] {
        assert!(
            is_internal(internal.parse::<IpAddr>().unwrap()),
            "{internal}"
        );
    }
    for public in [
        "140.82.112.3",
        "8.8.8.8",
        "100.128.0.1",
        "2606:4700::1111",
        "::ffff:8.8.8.8",
    ] {
        assert!(!is_internal(public.parse::<IpAddr>().unwrap()), "{public}");
    }
}

#[test]
fn local_sources_need_the_flag_and_get_one_answer() {
    let data = tempfile::tempdir().unwrap();
    let repo = tempfile::tempdir().unwrap();
    let existing = repo.path().to_str().unwrap().to_owned();
    let missing = format!("{existing}/not-here");
    let closed = policy(&["https://github.com/*"], false);
    let mut texts = Vec::new();
    for input in [
        existing.clone(),
        missing.clone(),
        format!("file://{existing}"),
        format!("file://{missing}"),
    ] {
        let err = RepoSource::parse_allowed(&input, &closed, data.path()).unwrap_err();
        assert_eq!(err.code(), "source_not_allowed", "{input}");
        let text = err.to_string();
        assert!(!text.contains(&existing), "{text}");
        texts.push(text);
    }
    texts.dedup();
    assert_eq!(texts.len(), 1, "{texts:?}");

    let open = policy(&[], true);
    let source = RepoSource::parse_allowed(&existing, &open, data.path()).unwrap();
    assert_eq!(source.transport, crate::source::Transport::Local);
}

#[test]
fn the_data_dir_is_refused_even_with_local_sources() {
    let data = tempfile::tempdir().unwrap();
    let mirror = data.path().join("mirrors/x.git");
    std::fs::create_dir_all(&mirror).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let link = outside.path().join("link");
    std::os::unix::fs::symlink(&mirror, &link).unwrap();
    let open = SourcePolicy::default();
    let dotted = format!(
        "{}/../{}/mirrors/x.git",
        data.path().display(),
        data_name(data.path())
    );
    for input in [
        mirror.display().to_string(),
        data.path()
            .join("mirrors/missing.git")
            .display()
            .to_string(),
        format!("file://{}", mirror.display()),
        link.display().to_string(),
        dotted,
    ] {
        let err = RepoSource::parse_allowed(&input, &open, data.path()).unwrap_err();
        assert_eq!(err.code(), "source_not_allowed", "{input}");
        assert!(!err.to_string().contains("mirrors"), "{err}");
    }
}

fn data_name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

#[test]
fn the_token_goes_to_the_github_host_only() {
    let ghe = SourcePolicy::new(Vec::new(), false, "ghe.example.com");
    assert!(ghe.token_host(Some("GHE.example.com")));
    assert!(!ghe.token_host(Some("github.com")));
    assert!(!ghe.token_host(Some("attacker.example")));
    assert!(!ghe.token_host(None));

    let data = tempfile::tempdir().unwrap();
    let any = SourcePolicy::default();
    let github =
        RepoSource::parse_allowed("https://github.com/a/b.git", &any, data.path()).unwrap();
    assert!(github.offer_token);
    let other =
        RepoSource::parse_allowed("https://attacker.example/x.git", &any, data.path()).unwrap();
    assert!(!other.offer_token);
    let plain = RepoSource::parse_allowed("http://github.com/a/b.git", &any, data.path()).unwrap();
    assert!(!plain.offer_token);
}
