//! `studio demo`: one command from a fresh checkout to components in a browser.
//!
//! Starts a server on the embedded defaults (local sources allowed), turns the bundled
//! `examples/design-system` into a git repository beside the data directory (`<data-dir>-demo`,
//! once: the source policy refuses anything inside the data dir), creates a sandbox on it and
//! prints where to look: the dashboard's URL first, the one a person opens.

use anyhow::{Context, Result};
use studio_core::SecretToken;
use studio_sandbox::CreateSandbox;

use crate::server::{ServeArgs, example_repository, shutdown_signal, start};

pub async fn demo(
    mut args: ServeArgs,
    api_token: Option<SecretToken>,
    github_token: Option<SecretToken>,
) -> Result<()> {
    // The demo's repository is a local path, and it lives next to the data dir, not inside it:
    // the source policy refuses anything under the data dir.
    args.allow_local_sources = true;
    let signs_in = api_token.is_some();
    let running = start(&args, api_token, github_token).await?;
    // First, before the sandbox (its first install takes a while): the page to open.
    println!("{}", dashboard_line(args.public_url.as_ref(), running.addr));
    if signs_in {
        println!("               (sign in with the API token, STUDIO_API_TOKEN)");
    }
    let repository = demo_dir(&args.data_dir).join("design-system");
    let source = example_repository()?;
    studio_git::seed_repository(&source, &repository, "main")
        .await
        .with_context(|| {
            format!(
                "cannot prepare the demo repository at {}",
                repository.display()
            )
        })?;
    let repository = std::fs::canonicalize(&repository)?;
    println!(
        "Studio API:    http://{}/api/v1 (OpenAPI: /api/v1/openapi.json)",
        running.addr
    );
    println!(
        "creating a sandbox on {} (first run installs npm packages) ...",
        repository.display()
    );
    let request = CreateSandbox {
        repository: repository.display().to_string(),
        ..CreateSandbox::default()
    };
    let created = match running.manager.create(request).await {
        Ok(created) => created,
        Err(e) => {
            running.stop().await?;
            anyhow::bail!(
                "creating the demo sandbox failed: {} ({})",
                e.message,
                e.code
            );
        }
    };
    println!("sandbox:       {}", created.id);
    println!(
        "renderer:      {}",
        created.renderer_url.as_deref().unwrap_or("(none)")
    );
    println!("websocket:     {}", created.websocket_url);
    println!("branch:        {}", created.branch);
    println!();
    println!(
        "try:  studio --server http://{} exec {} src/components/Button/Button.tsx --file <file>",
        running.addr, created.id
    );
    println!(
        "      studio --server http://{} watch {}",
        running.addr, created.id
    );
    println!("Ctrl-C stops the server and the renderer.");
    shutdown_signal().await;
    running.stop().await
}

/// `dashboard: <url>/`: the dashboard at the root of the API's origin (`--public-url` when set,
/// else the address bound).
fn dashboard_line(public_url: Option<&url::Url>, addr: std::net::SocketAddr) -> String {
    let base = match public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("http://{addr}"),
    };
    format!("dashboard: {base}/")
}

/// `<data-dir>-demo` beside the data dir (`./.studio` → `./.studio-demo`).
fn demo_dir(data_dir: &std::path::Path) -> std::path::PathBuf {
    let mut name = data_dir
        .file_name()
        .map(std::ffi::OsStr::to_os_string)
        .unwrap_or_else(|| ".studio".into());
    name.push("-demo");
    data_dir.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_line_names_the_root_of_the_api_origin() {
        let addr: std::net::SocketAddr = "127.0.0.1:7700".parse().unwrap();
        assert_eq!(
            dashboard_line(None, addr),
            "dashboard: http://127.0.0.1:7700/"
        );
        let public = url::Url::parse("https://studio.example.com").unwrap();
        assert_eq!(
            dashboard_line(Some(&public), addr),
            "dashboard: https://studio.example.com/"
        );
    }
}
