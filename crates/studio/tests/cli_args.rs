//! Argument parsing: what each subcommand accepts, and the errors for what it does not.

use std::path::PathBuf;

use clap::Parser;
use clap::error::ErrorKind;
use studio::{Cli, ClientCommand, Command};

const ID: &str = "sb_0123456789abcdef";

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("studio").chain(args.iter().copied()))
}

fn command(args: &[&str]) -> ClientCommand {
    match parse(args)
        .unwrap_or_else(|e| panic!("{args:?} was rejected: {e}"))
        .command
    {
        Command::Client(c) => c,
        other => panic!("{args:?} parsed as a server command: {other:?}"),
    }
}

#[test]
fn server_subcommands_take_the_documented_flags_and_defaults() {
    let Command::Serve(serve) =
        parse(&["serve", "--listen", "127.0.0.1:0", "--data-dir", "/tmp/x"])
            .unwrap()
            .command
    else {
        panic!("serve did not parse as serve");
    };
    assert_eq!(serve.listen.port(), 0);
    assert_eq!(serve.data_dir, PathBuf::from("/tmp/x"));
    // Deprecated and ignored (renderers serve on Unix sockets), but still accepted.
    assert_eq!(serve.vite_port, None);
    let Command::Serve(old) = parse(&["serve", "--vite-port", "6000"]).unwrap().command else {
        panic!("serve with --vite-port did not parse as serve");
    };
    assert_eq!(old.vite_port, Some(6000));
    assert_eq!(serve.max_restarts, 3);
    assert!((serve.timeout_hours - 4.0).abs() < f64::EPSILON);
    assert!(matches!(
        parse(&["migrate"]).unwrap().command,
        Command::Migrate(_)
    ));
    assert!(matches!(
        parse(&["demo"]).unwrap().command,
        Command::Demo(_)
    ));
    assert!(parse(&["serve", "--listen", "not-an-address"]).is_err());
}

#[test]
fn the_front_door_flags_take_a_domain_and_a_plain_public_url() {
    let serve = |args: &[&str]| match parse(args).unwrap().command {
        Command::Serve(serve) => serve,
        other => panic!("{args:?} parsed as {other:?}"),
    };
    let defaults = serve(&["serve"]);
    assert_eq!(defaults.preview_domain, "localhost");
    assert_eq!(defaults.public_url, None);
    assert_eq!(defaults.preview_max_requests, 256);
    assert_eq!(defaults.preview_max_websockets, 32);
    let ingress = serve(&[
        "serve",
        "--preview-domain",
        "Preview.Example.com.",
        "--public-url",
        "https://studio.example.com",
        "--preview-max-websockets",
        "4",
    ]);
    assert_eq!(ingress.preview_domain, "preview.example.com");
    assert_eq!(
        ingress.public_url.unwrap().as_str(),
        "https://studio.example.com/"
    );
    assert_eq!(ingress.preview_max_websockets, 4);
    for bad in [
        "http://preview.example.com",
        "preview.example.com:80",
        "a..b",
        "x-.com",
        "sb_x.com",
        "",
    ] {
        let message = rejection(&["serve", "--preview-domain", bad]);
        assert!(message.contains("not a domain name"), "{bad}: {message}");
    }
    for bad in [
        "studio.example.com",
        "ftp://studio.example.com",
        "https://studio.example.com/api",
        "https://u:p@studio.example.com",
        "https://studio.example.com/?a=1",
    ] {
        let message = rejection(&["serve", "--public-url", bad]);
        assert!(
            message.contains("--public-url")
                || message.contains("URL")
                || message.contains("http(s)"),
            "{bad}: {message}"
        );
    }
}

#[test]
fn cors_origins_are_repeatable_normalised_and_none_by_default() {
    let serve = |args: &[&str]| match parse(args).unwrap().command {
        Command::Serve(serve) => serve,
        other => panic!("{args:?} parsed as {other:?}"),
    };
    assert!(serve(&["serve"]).cors_origins.is_empty());
    let origins: Vec<String> = serve(&[
        "serve",
        "--cors-origin",
        "HTTPS://Tool.Example.com:443",
        "--cors-origin",
        "http://localhost:5173,http://[::1]:8080",
    ])
    .cors_origins
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        origins,
        [
            "https://tool.example.com",
            "http://localhost:5173",
            "http://[::1]:8080"
        ]
    );
    for bad in [
        "*",
        "https://*.example.com",
        "https://tool.example.com/app",
        "localhost:5173",
    ] {
        let message = rejection(&["serve", "--cors-origin", bad]);
        assert!(message.contains("not a CORS origin"), "{bad}: {message}");
    }
}

fn rejection(args: &[&str]) -> String {
    parse(args)
        .expect_err(&format!("{args:?} was accepted"))
        .to_string()
}

#[test]
fn create_takes_every_documented_option() {
    let ClientCommand::Create(a) = command(&[
        "create",
        "https://github.com/acme/ui.git",
        "--branch",
        "develop",
        "--no-auto-commit",
        "--commit-pattern",
        "studio: {description}",
        "--timeout-hours",
        "0.002",
        "--max-restarts",
        "5",
        "--components",
        "src/**/*.tsx",
        "lib/*.jsx",
        "--github-repo",
        "acme/ui",
        "--setup",
        "src/tokens.css",
        "src/fonts.css",
        "--wrapper",
        "src/theme.tsx#ThemeProvider",
    ]) else {
        panic!("not create")
    };
    assert_eq!(a.repository, "https://github.com/acme/ui.git");
    assert_eq!(a.branch.as_deref(), Some("develop"));
    assert!(a.no_auto_commit);
    assert_eq!(a.commit_pattern.as_deref(), Some("studio: {description}"));
    assert_eq!(a.timeout_hours, Some(0.002));
    assert_eq!(a.max_restarts, Some(5));
    assert_eq!(a.components, ["src/**/*.tsx", "lib/*.jsx"]);
    assert_eq!(a.github_repo.as_deref(), Some("acme/ui"));
    assert_eq!(a.setup, ["src/tokens.css", "src/fonts.css"]);
    assert_eq!(a.wrapper.as_deref(), Some("src/theme.tsx#ThemeProvider"));
}

#[test]
fn create_defaults_leave_choices_to_the_server() {
    let ClientCommand::Create(a) = command(&["create", "./repo"]) else {
        panic!("not create")
    };
    assert!(!a.no_auto_commit);
    assert!(a.components.is_empty() && a.setup.is_empty());
    assert_eq!(
        (a.branch, a.timeout_hours, a.max_restarts, a.wrapper),
        (None, None, None, None)
    );
}

#[test]
fn create_rejects_malformed_values_by_name() {
    assert!(
        rejection(&["create", "r", "--timeout-hours", "-1"])
            .contains("not a positive number of hours")
    );
    assert!(
        rejection(&["create", "r", "--timeout-hours", "NaN"])
            .contains("not a positive number of hours")
    );
    assert!(rejection(&["create", "r", "--github-repo", "acme"]).contains("owner/name"));
    assert!(rejection(&["create", "r", "--wrapper", "src/theme.tsx"]).contains("path#Export"));
    assert!(rejection(&["create", "r", "--max-restarts", "many"]).contains("--max-restarts"));
    assert_eq!(
        parse(&["create"]).unwrap_err().kind(),
        ErrorKind::MissingRequiredArgument
    );
}

#[test]
fn sandbox_ids_are_checked_before_any_request() {
    let message = rejection(&["status", "sb_../../etc"]);
    assert!(message.contains("sb_<16 hex digits>"), "{message}");
    let ClientCommand::Status(a) = command(&["status", ID]) else {
        panic!("not status")
    };
    assert_eq!(a.id.to_string(), ID);
}

#[test]
fn exec_reads_a_file_or_stdin_or_deletes() {
    let ClientCommand::Exec(a) = command(&[
        "exec",
        ID,
        "src/Button.tsx",
        "--file",
        "b.tsx",
        "-d",
        "rounder",
    ]) else {
        panic!("not exec")
    };
    assert_eq!(a.file_path, "src/Button.tsx");
    assert_eq!(a.file, Some(PathBuf::from("b.tsx")));
    assert_eq!(a.description.as_deref(), Some("rounder"));
    assert!(!a.delete);

    let ClientCommand::Exec(a) = command(&["exec", ID, "src/Old.tsx", "--delete"]) else {
        panic!("not exec")
    };
    assert!(a.delete && a.file.is_none());

    assert_eq!(
        parse(&["exec", ID, "src/Old.tsx", "--delete", "--file", "x"])
            .unwrap_err()
            .kind(),
        ErrorKind::ArgumentConflict
    );
}

#[test]
fn rollback_needs_exactly_one_target() {
    let ClientCommand::Rollback(a) = command(&["rollback", ID, "--steps", "2"]) else {
        panic!("not rollback")
    };
    assert_eq!((a.steps, a.to), (Some(2), None));
    let hash = "0123456789ABCDEF0123456789abcdef01234567";
    let ClientCommand::Rollback(a) = command(&["rollback", ID, "--to", hash]) else {
        panic!("not rollback")
    };
    assert_eq!(a.to.as_deref(), Some(hash.to_ascii_lowercase().as_str()));

    assert_eq!(
        parse(&["rollback", ID]).unwrap_err().kind(),
        ErrorKind::MissingRequiredArgument
    );
    assert_eq!(
        parse(&["rollback", ID, "--steps", "1", "--to", "abcd"])
            .unwrap_err()
            .kind(),
        ErrorKind::ArgumentConflict
    );
    assert!(rejection(&["rollback", ID, "--steps", "0"]).contains("--steps"));
    assert!(rejection(&["rollback", ID, "--to", "HEAD~1"]).contains("not a commit hash"));
}

#[test]
fn the_remaining_subcommands() {
    let ClientCommand::Finalize(a) =
        command(&["finalize", ID, "--title", "New buttons", "-d", "Rounder"])
    else {
        panic!("not finalize")
    };
    assert_eq!(
        (a.title.as_str(), a.description.as_deref()),
        ("New buttons", Some("Rounder"))
    );
    assert_eq!(
        parse(&["finalize", ID]).unwrap_err().kind(),
        ErrorKind::MissingRequiredArgument
    );

    assert!(matches!(command(&["ls"]), ClientCommand::Ls));
    assert!(matches!(command(&["list"]), ClientCommand::Ls));
    assert!(matches!(
        command(&["restart", ID]),
        ClientCommand::Restart(_)
    ));
    assert!(matches!(command(&["stop", ID]), ClientCommand::Stop(_)));
    assert!(matches!(command(&["start", ID]), ClientCommand::Start(_)));
    assert!(matches!(command(&["rm", ID]), ClientCommand::Rm(_)));

    let ClientCommand::Logs(a) = command(&["logs", ID, "-f", "-n", "50"]) else {
        panic!("not logs")
    };
    assert!(a.follow);
    assert_eq!(a.lines, Some(50));
    let ClientCommand::Watch(a) = command(&["watch", ID, "--since", "41"]) else {
        panic!("not watch")
    };
    assert_eq!(a.since, Some(41));
}

#[test]
fn global_options_go_before_or_after_the_subcommand() {
    let cli = parse(&[
        "--server",
        "https://studio.example:8443/prefix",
        "ls",
        "--json",
        "--token",
        "t0k",
    ])
    .unwrap();
    assert_eq!(
        cli.client.server.as_str(),
        "https://studio.example:8443/prefix"
    );
    assert!(cli.client.json);
    assert_eq!(cli.client.token.as_ref().map(|t| t.expose()), Some("t0k"));
    // The token never shows in debug output of the parsed command line.
    assert!(!format!("{cli:?}").contains("t0k"));

    let cli = parse(&["ls", "--server", "127.0.0.1:7800"]).unwrap();
    assert_eq!(cli.client.server.as_str(), "http://127.0.0.1:7800/");

    assert!(rejection(&["ls", "--server", "ftp://example.com"]).contains("http or https"));
    assert!(rejection(&["ls", "--server", "http://x/?a=1"]).contains("query"));
    assert!(rejection(&["ls", "--token", ""]).contains("empty"));
}

#[test]
fn preview_and_token_take_a_sandbox_and_a_bounded_lifetime() {
    let ClientCommand::Preview(a) = command(&["preview", ID]) else {
        panic!("not preview")
    };
    assert_eq!(a.id.to_string(), ID);
    let ClientCommand::Token(a) = command(&["token", ID]) else {
        panic!("not token")
    };
    assert_eq!((a.id.to_string().as_str(), a.expires_in_hours), (ID, None));
    let ClientCommand::Token(a) = command(&["token", ID, "--expires-in-hours", "720"]) else {
        panic!("not token")
    };
    assert_eq!(a.expires_in_hours, Some(720));
    for hours in ["0", "721", "-1", "1.5"] {
        let flag = format!("--expires-in-hours={hours}");
        assert!(
            rejection(&["token", ID, &flag]).contains("--expires-in-hours"),
            "{hours}"
        );
    }
    assert!(rejection(&["preview", "sb_../x"]).contains("sb_"));
    assert_eq!(
        parse(&["preview"]).unwrap_err().kind(),
        ErrorKind::MissingRequiredArgument
    );
}
