//! The settings handed to the services the manager builds (git, renderer, supervisor), derived
//! from the server-wide [`ManagerConfig`].

use crate::config::ManagerConfig;

pub(crate) fn git_config(config: &ManagerConfig) -> studio_git::GitConfig {
    let mut git = studio_git::GitConfig::new(&config.data_dir);
    git.token = config.github_token.clone();
    git
}

pub(crate) fn renderer_config(config: &ManagerConfig) -> studio_renderer::RendererConfig {
    let mut renderer = studio_renderer::RendererConfig::new(&config.data_dir, &config.template_dir);
    renderer.npm_cache = config.npm_cache.clone();
    renderer
}

/// Renderers serve on Unix sockets, so the supervisor's port registry is not used for them.
pub(crate) fn supervisor_config(_config: &ManagerConfig) -> studio_supervisor::SupervisorConfig {
    studio_supervisor::SupervisorConfig::default()
}
