//! `studio demo`: one command from a fresh checkout to components in a browser.
//!
//! Starts a server on the embedded defaults, turns the bundled `examples/design-system` into a git
//! repository under the data directory (once), creates a sandbox on it and prints where to look.

use anyhow::{Context, Result};
use studio_core::SecretToken;
use studio_sandbox::CreateSandbox;

use crate::server::{ServeArgs, example_repository, shutdown_signal, start};

pub async fn demo(
    args: ServeArgs,
    api_token: Option<SecretToken>,
    github_token: Option<SecretToken>,
) -> Result<()> {
    let running = start(&args, api_token, github_token).await?;
    let repository = args.data_dir.join("demo").join("design-system");
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
