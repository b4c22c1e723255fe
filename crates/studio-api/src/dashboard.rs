//! The dashboard: a web page for watching and driving sandboxes, served on the API's own hosts at
//! `/` (the front door sends preview hosts elsewhere before this router is reached).
//!
//! The page is plain ES modules and CSS compiled into the binary: no build step, no CDN, nothing
//! fetched from elsewhere. Its API calls are the TypeScript client's code
//! (`clients/typescript/dist/index.js`, served as `/dashboard/client.js`), not a second copy.
//! These files hold no data, so they need no token: the page asks for the API token itself, keeps
//! it in `sessionStorage` and sends it as a bearer header (never a cookie a preview could ride on).
//!
//! Every file is answered with a strict Content Security Policy: scripts and styles only from this
//! origin (no inline script), connections only to this origin (Chromium's CSP3 counts `ws:` to the
//! same host and port as `'self'`), frames only from the preview domain (each preview is an
//! origin of its own, reached through a one-time link), and the page itself never framed.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, get};

const INDEX_HTML: &str = include_str!("../dashboard/index.html");
const APP_JS: &str = include_str!("../dashboard/app.js");
const DETAIL_JS: &str = include_str!("../dashboard/detail.js");
const UI_JS: &str = include_str!("../dashboard/ui.js");
const STYLE_CSS: &str = include_str!("../dashboard/style.css");
/// The TypeScript client, compiled by `tsc` into one self-contained ES module.
const CLIENT_JS: &str = include_str!("../../../clients/typescript/dist/index.js");

const HTML: &str = "text/html; charset=utf-8";
const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// The dashboard's routes; `preview_domain` is `--preview-domain` (the iframes' origins).
pub(crate) fn router<S>(preview_domain: &str) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let csp = content_security_policy(preview_domain);
    Router::new()
        .route("/", file(INDEX_HTML, HTML, &csp))
        .route("/dashboard/app.js", file(APP_JS, JAVASCRIPT, &csp))
        .route("/dashboard/detail.js", file(DETAIL_JS, JAVASCRIPT, &csp))
        .route("/dashboard/ui.js", file(UI_JS, JAVASCRIPT, &csp))
        .route("/dashboard/style.css", file(STYLE_CSS, CSS, &csp))
        .route("/dashboard/client.js", file(CLIENT_JS, JAVASCRIPT, &csp))
}

/// `GET` (and `HEAD`) of one embedded file with the dashboard's headers.
fn file<S>(body: &'static str, content_type: &'static str, csp: &HeaderValue) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let csp = csp.clone();
    get(move || {
        let csp = csp.clone();
        async move {
            let headers: [(HeaderName, HeaderValue); 7] = [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                // The files change with the binary: a browser must not keep an old app.js
                // beside a new client.js.
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
                // For browsers without `frame-ancestors`: the dashboard holds the API token and
                // its buttons act on sandboxes, so no other page may frame it (clickjacking).
                (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
                (header::CONTENT_SECURITY_POLICY, csp),
                (
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ),
                (
                    HeaderName::from_static("cross-origin-opener-policy"),
                    HeaderValue::from_static("same-origin"),
                ),
            ];
            (headers, body).into_response()
        }
    })
}

/// The policy of every dashboard file. `frame-src` allows the preview hosts
/// (`sb-<hex>.<domain>`) on any port: the API config knows the preview domain but not the scheme
/// and port of `--public-url` the previews are reached on, and a source without a scheme matches
/// the dashboard's own scheme (and its upgrade to `https`), which is the previews' in every setup
/// a browser can frame anyway (an `https` page cannot frame `http`).
fn content_security_policy(preview_domain: &str) -> HeaderValue {
    let domain = preview_domain
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    // A host name only: anything else (a space, a `;`) would change the policy's meaning.
    let valid = !domain.is_empty()
        && domain
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let frames = if valid {
        format!("*.{domain}:*")
    } else {
        tracing::warn!("the preview domain is not a host name; the dashboard frames no preview");
        "'none'".to_owned()
    };
    let policy = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; frame-src {frames}; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'none'; object-src 'none'"
    );
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(domain: &str) -> String {
        content_security_policy(domain)
            .to_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn the_policy_frames_previews_only_and_runs_no_inline_script() {
        let csp = policy("localhost");
        assert!(csp.contains("frame-src *.localhost:*;"), "{csp}");
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert!(policy("Previews.Example.COM.").contains("frame-src *.previews.example.com:*;"));
    }

    #[test]
    fn a_preview_domain_that_is_no_host_name_cannot_widen_the_policy() {
        for domain in ["", "x; script-src *", "a b", "*"] {
            let csp = policy(domain);
            assert!(csp.contains("frame-src 'none';"), "{domain}: {csp}");
            assert!(!csp.contains("script-src *"), "{domain}: {csp}");
        }
    }

    #[test]
    fn the_page_has_no_inline_script_or_style() {
        // The policy would block them: the page would break silently in the browser.
        let html = INDEX_HTML.to_ascii_lowercase();
        for script in html.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(tag.contains("src="), "inline <script{tag}>");
        }
        assert!(!html.contains(" style="), "inline style attribute");
        assert!(!html.contains("<style"), "inline <style>");
        assert!(!html.contains(" onclick="), "inline event handler");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no CDN"
        );
    }
}
