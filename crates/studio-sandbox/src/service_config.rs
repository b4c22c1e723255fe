//! The settings handed to the services the manager builds (git, renderer, supervisor), derived
//! from the server-wide [`ManagerConfig`].

use crate::config::ManagerConfig;

pub(crate) fn git_config(config: &ManagerConfig) -> studio_git::GitConfig {
    let mut git = studio_git::GitConfig::new(&config.data_dir);
    git.token = config.github_token.clone();
    git.source_policy = source_policy(config);
    git
}

/// The GitHub host (from `github_api_url`, the same rule the forge uses) is both a default allowed
/// source and the only host the token is offered to.
fn source_policy(config: &ManagerConfig) -> studio_git::SourcePolicy {
    let github_host = url::Url::parse(&config.github_api_url)
        .map(|api| studio_forge::web_host_for_api(&api))
        .unwrap_or_else(|_| "github.com".to_owned());
    let patterns = config
        .allow_sources
        .clone()
        .unwrap_or_else(|| studio_git::SourcePolicy::default_patterns(&github_host));
    studio_git::SourcePolicy::new(patterns, config.allow_local_sources, &github_host)
}

pub(crate) fn renderer_config(
    config: &ManagerConfig,
    jail: Option<studio_jail::Jail>,
) -> studio_renderer::RendererConfig {
    let mut renderer = studio_renderer::RendererConfig::new(&config.data_dir, &config.template_dir);
    renderer.npm_cache = config.npm_cache.clone();
    renderer.jail = jail;
    renderer.max_installs = config.max_installs;
    renderer
}

/// Renderers serve on Unix sockets, so the supervisor's port registry is not used for them.
/// Their output goes to files in `<data-dir>/run/logs/` (`<unit>.out`, `<unit>.err`), never to a
/// pipe: a renderer that logs while the server is dead (SIGKILL) would die of the pipe that lost
/// its reader, and could not be re-adopted.
pub(crate) fn supervisor_config(config: &ManagerConfig) -> studio_supervisor::SupervisorConfig {
    studio_supervisor::SupervisorConfig {
        log_dir: Some(config.data_dir.join("run").join("logs")),
        ..studio_supervisor::SupervisorConfig::default()
    }
}
