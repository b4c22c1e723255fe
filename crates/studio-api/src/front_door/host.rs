//! Where a request goes, decided by its `Host` alone: the API, one sandbox's preview, or nowhere
//! (421). Pure string work, no I/O.
//!
//! Answering the API only on known hosts defeats DNS rebinding: a page on `evil.example` whose
//! name was re-pointed at 127.0.0.1 still sends `Host: evil.example`, and gets 421.

use studio_core::SandboxId;

/// What a request's host names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// The REST API and the dashboard.
    Api,
    /// `sb-<hex>.<preview domain>`: that sandbox's renderer.
    Preview(SandboxId),
    /// Any other host, or none.
    Misdirected,
}

/// The hosts this server answers for.
#[derive(Debug, Clone)]
pub(crate) struct Hosts {
    /// Lower case, no trailing dot.
    preview_domain: String,
    /// Lower case; IPv6 addresses in brackets.
    api: Vec<String>,
}

/// API hosts every server answers on, whatever it was configured with.
const LOOPBACK_HOSTS: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

impl Hosts {
    /// `api` are the extra API hosts (the listen address, the public URL's host).
    pub(crate) fn new(preview_domain: &str, api: &[String]) -> Self {
        let mut hosts: Vec<String> = LOOPBACK_HOSTS.iter().map(|h| (*h).to_owned()).collect();
        hosts.extend(api.iter().map(|h| normalize(h)));
        hosts.retain(|h| !h.is_empty());
        hosts.sort();
        hosts.dedup();
        Self {
            preview_domain: normalize(preview_domain),
            api: hosts,
        }
    }

    /// Where a request for `authority` (`host[:port]`, from `Host` or an absolute URI) goes.
    pub(crate) fn classify(&self, authority: Option<&str>) -> Destination {
        let Some(host) = authority.and_then(host_of) else {
            return Destination::Misdirected;
        };
        let host = normalize(host);
        if self.api.contains(&host) {
            return Destination::Api;
        }
        let label = host
            .strip_suffix(self.preview_domain.as_str())
            .and_then(|rest| rest.strip_suffix('.'))
            .filter(|label| !label.contains('.'));
        match label.and_then(SandboxId::from_preview_label) {
            Some(id) => Destination::Preview(id),
            None => Destination::Misdirected,
        }
    }
}

/// The host of `host[:port]`, or `None` when the authority is malformed (a port that is not a
/// number, an unclosed IPv6 bracket, user info).
fn host_of(authority: &str) -> Option<&str> {
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        (host, rest.strip_prefix(':'))
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    (!host.is_empty()).then_some(host)
}

/// Lower case, without a trailing dot (`Localhost.` is `localhost`).
fn normalize(host: &str) -> String {
    host.trim().trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> Hosts {
        Hosts::new(
            "localhost",
            &["127.0.0.1".into(), "Studio.Example.com".into()],
        )
    }

    #[test]
    fn the_api_answers_on_loopback_names_the_listen_address_and_the_public_host() {
        let h = hosts();
        for authority in [
            "localhost",
            "localhost:7700",
            "LOCALHOST.:1",
            "127.0.0.1:7700",
            "[::1]:7700",
            "[::1]",
            "studio.example.com",
            "studio.example.com:443",
        ] {
            assert_eq!(h.classify(Some(authority)), Destination::Api, "{authority}");
        }
    }

    #[test]
    fn a_preview_host_names_its_sandbox_in_any_letter_case_and_on_any_port() {
        let h = hosts();
        let id: SandboxId = "sb_0123456789abcdef".parse().unwrap();
        for authority in [
            "sb-0123456789abcdef.localhost:7700",
            "SB-0123456789ABCDEF.Localhost",
            "sb-0123456789abcdef.localhost.:80",
        ] {
            assert_eq!(
                h.classify(Some(authority)),
                Destination::Preview(id.clone()),
                "{authority}"
            );
        }
        let ingress = Hosts::new("Preview.Example.com", &[]);
        assert_eq!(
            ingress.classify(Some("sb-0123456789abcdef.preview.example.com")),
            Destination::Preview(id)
        );
    }

    #[test]
    fn every_other_host_is_misdirected() {
        let h = hosts();
        for authority in [
            None,
            Some(""),
            Some("evil.example"),
            Some("192.168.1.10:7700"),
            Some("sb-0123456789abcdef.evil.example"),
            Some("sb-0123456789abcdef.localhost.evil.example"),
            Some("x.sb-0123456789abcdef.localhost"),
            Some("sb-0123456789abcde.localhost"),
            Some("sb_0123456789abcdef.localhost"),
            Some("sb-0123456789abcdefxlocalhost"),
            Some("foo.localhost"),
            Some("localhost:http"),
            Some("user@localhost"),
            Some("[::1"),
            Some("127.0.0.1:"),
        ] {
            assert_eq!(
                h.classify(authority),
                Destination::Misdirected,
                "{authority:?}"
            );
        }
    }
}
