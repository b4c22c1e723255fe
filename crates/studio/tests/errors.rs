//! How failures reach the user: the server's error body, and a server that is not there.

use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;

use studio::error::exit;
use studio::{CliError, Client, ClientError};
use url::Url;

const ID: &str = "sb_0123456789abcdef";

#[test]
fn a_server_error_body_becomes_message_code_and_exit_code() {
    let body =
        br#"{"error": "no sandbox with id \"sb_0123456789abcdef\"", "code": "sandbox_not_found"}"#;
    let err = CliError::from(ClientError::from_error_response(404, body));
    assert_eq!(
        err.report(),
        r#"error: no sandbox with id "sb_0123456789abcdef" (sandbox_not_found)"#
    );
    assert_eq!(err.exit_code(), exit::SERVER_ERROR);

    let conflict =
        br#"{"error": "sandbox is stopped; start it first", "code": "sandbox_not_running"}"#;
    let err = CliError::from(ClientError::from_error_response(409, conflict));
    assert_eq!(
        err.report(),
        "error: sandbox is stopped; start it first (sandbox_not_running)"
    );
}

#[test]
fn a_body_that_is_not_the_api_still_gives_a_useful_line() {
    let html = b"\n<html><head><title>502 Bad Gateway</title></head></html>\n";
    let err = CliError::from(ClientError::from_error_response(502, html));
    assert_eq!(
        err.report(),
        "error: HTTP 502 Bad Gateway: <html><head><title>502 Bad Gateway</title></head></html> (http_502)"
    );
    let err = CliError::from(ClientError::from_error_response(401, b""));
    assert_eq!(err.report(), "error: HTTP 401 Unauthorized (http_401)");
    assert_eq!(err.exit_code(), exit::SERVER_ERROR);
}

#[test]
fn local_input_and_response_errors_have_their_own_exit_codes() {
    assert_eq!(
        CliError::Input("cannot read x".into()).exit_code(),
        exit::USAGE
    );
    let bad = ClientError::BadResponse {
        what: "sandbox list".into(),
        reason: "expected value".into(),
    };
    let err = CliError::from(bad);
    assert_eq!(err.exit_code(), exit::BAD_RESPONSE);
    assert_eq!(
        err.report(),
        "error: unexpected answer from the Studio server (sandbox list): expected value (invalid_response)"
    );
}

/// A port on which nothing listens: bind one, note it, close it.
fn closed_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an ephemeral port");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    port
}

#[tokio::test]
async fn connection_refused_is_reported_as_unreachable() {
    let server = Url::parse(&format!("http://127.0.0.1:{}/", closed_port())).unwrap();
    let client = Client::new(server.clone(), None).unwrap();
    let err = client.list().await.unwrap_err();
    let ClientError::Unreachable {
        server: shown,
        reason,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(shown, server.as_str());
    assert!(reason.starts_with("connection refused"), "{reason}");
    let err = CliError::from(err);
    assert_eq!(err.exit_code(), exit::UNREACHABLE);
    assert!(
        err.report().ends_with("(connection_failed)"),
        "{}",
        err.report()
    );
}

fn studio() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_studio"));
    // The tests choose the server and token; the caller's environment must not.
    cmd.env_remove("STUDIO_URL").env_remove("STUDIO_API_TOKEN");
    cmd
}

#[test]
fn the_binary_reports_a_closed_port_on_stderr_with_its_exit_code() {
    let server = format!("http://127.0.0.1:{}", closed_port());
    for args in [
        vec!["ls"],
        vec!["status", ID],
        vec!["watch", ID, "--since", "3"],
    ] {
        let out = studio()
            .args(&args)
            .env("STUDIO_URL", &server)
            .env("STUDIO_API_TOKEN", "tok_supersecret")
            .output()
            .expect("run studio");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(i32::from(exit::UNREACHABLE)),
            "{args:?}: {stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            stderr.starts_with(&format!(
                "error: cannot reach the Studio server at {server}/: connection refused"
            )),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr.trim_end().ends_with("(connection_failed)"),
            "{args:?}: {stderr}"
        );
        assert!(
            !stderr.contains("supersecret"),
            "the token leaked: {stderr}"
        );
    }
}

#[test]
fn the_binary_exits_2_on_usage_errors_and_never_prints_the_token() {
    let out = studio()
        .args(["rollback", ID])
        .output()
        .expect("run studio");
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)));

    let out = studio()
        .args(["ls", "--help"])
        .env("STUDIO_API_TOKEN", "tok_supersecret")
        .output()
        .expect("run studio");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("STUDIO_API_TOKEN"), "{help}");
    assert!(
        !help.contains("supersecret"),
        "the token leaked into --help: {help}"
    );
}

#[test]
fn unreadable_exec_input_is_a_usage_error_that_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let binary = dir.path().join("logo.png");
    std::fs::write(&binary, [0x89, b'P', b'N', b'G', 0xff, 0xfe]).unwrap();
    // The server is never contacted: the content is checked first.
    let server = format!("http://127.0.0.1:{}", closed_port());
    let out = studio()
        .args(["--server", &server, "exec", ID, "src/logo.png", "--file"])
        .arg(&binary)
        .output()
        .expect("run studio");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)), "{stderr}");
    assert!(
        stderr.contains("logo.png is not UTF-8 text (invalid byte at offset 0)"),
        "{stderr}"
    );
    assert!(stderr.trim_end().ends_with("(invalid_input)"), "{stderr}");

    let missing = dir.path().join("missing.tsx");
    let out = studio()
        .args(["--server", &server, "exec", ID, "src/x.tsx", "--file"])
        .arg(&missing)
        .output()
        .expect("run studio");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(i32::from(exit::USAGE)), "{stderr}");
    assert!(
        stderr.contains("cannot read") && stderr.contains("missing.tsx"),
        "{stderr}"
    );
}
