//! Collection without a server (`studio gc`): the services it needs, opened on their own.

use std::sync::Arc;

use studio_git::GitWorkspace;
use studio_renderer::Renderer;
use studio_store::Store;

use super::{CollectOptions, CollectReport, Parts, collect, own_npm_cache};
use crate::config::ManagerConfig;
use crate::error::ManagerError;

/// Collection without a server: what `studio gc` runs, on a data dir and database that a server
/// may be using at the same time (see `collect`).
#[derive(Debug)]
pub struct Collector {
    config: ManagerConfig,
    store: Arc<dyn Store>,
    git: GitWorkspace,
    renderer: Renderer,
}

impl Collector {
    /// Opens the data dir's mirrors and renderer stores; starts no process.
    pub fn open(config: ManagerConfig, store: Arc<dyn Store>) -> Result<Self, ManagerError> {
        let git = GitWorkspace::new(crate::service_config::git_config(&config));
        // No jail: a collection never runs an install or a renderer.
        let renderer = Renderer::new(crate::service_config::renderer_config(&config, None))?;
        Ok(Self {
            config,
            store,
            git,
            renderer,
        })
    }

    pub async fn collect(&self, options: CollectOptions) -> Result<CollectReport, ManagerError> {
        let parts = Parts {
            data_dir: &self.config.data_dir,
            npm_cache: own_npm_cache(&self.config),
            store: self.store.as_ref(),
            git: &self.git,
            renderer: &self.renderer,
        };
        collect(&parts, options).await
    }

    /// Closes the database.
    pub async fn close(&self) {
        self.store.close().await;
    }
}
