//! What a renderer and an npm install see inside their jail (`studio-jail`).
//!
//! A renderer sees its checkout (bound read-write; it owns only `.studio/.vite`, Vite's cache,
//! so it cannot change the repository's files or the dependencies hard-linked from the store),
//! the template's installed dependencies read-only, and nothing of `.git`. An install sees its
//! temporary install directory and npm's cache, both owned by the jail's uid while it runs, and
//! the registry proxy's socket: its only way out.

use std::path::{Path, PathBuf};

use studio_jail::{Jail, JailSpec};

use crate::error::RendererError;
use crate::registry_proxy::{AllowedHost, RegistryProxy};

/// Everything a jailed install needs besides its directory.
#[derive(Debug, Clone)]
pub(crate) struct NpmJail {
    pub jail: Jail,
    pub node: PathBuf,
    /// `npm_bridge.mjs`, written below the data dir.
    pub bridge: PathBuf,
    /// The registry proxy's Unix socket.
    pub proxy_socket: PathBuf,
    /// npm's cache, owned by the jail's uid.
    pub cache: PathBuf,
}

/// The registry npm may reach unless the operator configured another (`npm_config_registry`).
const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

/// Prepares what jailed installs need: npm's cache owned by the jail's uid, the bridge script
/// below the data dir, and the registry proxy on its socket.
pub(crate) fn npm_jail(
    jail: &Jail,
    data_dir: &Path,
    cache: &Path,
    node: &Path,
) -> Result<(NpmJail, RegistryProxy), RendererError> {
    std::fs::create_dir_all(cache).map_err(RendererError::io("create", cache))?;
    // Once per cache, not per start: jailed npm writes it as the jail's user from then on, and
    // walking a large cache at every start would be start-up time spent for nothing.
    if !jail.owns(cache) {
        jail.hand_over(cache)?;
    }
    let bridge_dir = jail_dir(data_dir);
    std::fs::create_dir_all(&bridge_dir).map_err(RendererError::io("create", &bridge_dir))?;
    let bridge = bridge_dir.join("npm_bridge.mjs");
    std::fs::write(&bridge, crate::registry_proxy::NPM_BRIDGE)
        .map_err(RendererError::io("write", &bridge))?;
    let socket = registry_socket(data_dir);
    let registry = configured_registry();
    let allowed =
        AllowedHost::from_url(&registry).ok_or_else(|| RendererError::InvalidSetting {
            field: "npm_config_registry",
            value: registry.clone(),
            origin: "the environment",
            reason: "not an http(s) URL with a host".to_owned(),
        })?;
    tracing::info!(registry = %registry, "jailed npm installs reach only this registry");
    let proxy = RegistryProxy::start(&socket, vec![allowed])
        .map_err(RendererError::io("listen on", &socket))?;
    Ok((
        NpmJail {
            jail: jail.clone(),
            node: node.to_owned(),
            bridge,
            proxy_socket: socket,
            cache: cache.to_owned(),
        },
        proxy,
    ))
}

/// `npm_config_registry` from Studio's environment, as npm itself would read it.
fn configured_registry() -> String {
    ["npm_config_registry", "NPM_CONFIG_REGISTRY"]
        .iter()
        .find_map(|key| std::env::var(key).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_REGISTRY.to_owned())
}

/// Size of the jail's tmpfs `/tmp` and `HOME` each. Their pages count against the renderer's
/// memory limit too.
pub(crate) const TMP_BYTES: u64 = 256 << 20;

/// Where the registry proxy listens: beside the bridge script, in a directory the jail's uid can
/// reach (`<data>/run`, where the renderer sockets live, is Studio's alone). Short: a socket path
/// has at most 107 bytes, and this one is no longer than a renderer socket's.
pub(crate) fn registry_socket(data_dir: &Path) -> PathBuf {
    jail_dir(data_dir).join("npm.sock")
}

/// `<data>/renderer/jail`: the bridge script and the registry proxy's socket.
fn jail_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("renderer").join("jail")
}

/// The renderer of `checkout`, whose `.studio/node_modules` links to `template_store`.
pub(crate) fn renderer_spec(checkout: &Path, template_store: &Path, node: &Path) -> JailSpec {
    let mut readable = vec![template_store.to_owned()];
    readable.extend(program_prefix(node));
    JailSpec {
        readable,
        writable: vec![checkout.to_owned()],
        hidden: vec![checkout.join(".git")],
        drop_points: Vec::new(),
        cwd: checkout.to_owned(),
        tmp_bytes: TMP_BYTES,
        // Renderers outlive a server restart (they are re-adopted), so no death signal.
        die_with_parent: false,
    }
}

/// `npm` in `install_dir`, reaching the registry through `proxy_socket` (via `bridge`).
pub(crate) fn npm_spec(
    install_dir: &Path,
    cache: &Path,
    proxy_socket: &Path,
    bridge: &Path,
    node: &Path,
) -> JailSpec {
    let mut readable = vec![bridge.to_owned()];
    readable.extend(program_prefix(node));
    JailSpec {
        readable,
        writable: vec![
            install_dir.to_owned(),
            cache.to_owned(),
            proxy_socket.to_owned(),
        ],
        hidden: Vec::new(),
        drop_points: Vec::new(),
        cwd: install_dir.to_owned(),
        tmp_bytes: TMP_BYTES,
        // An install belongs to the server that asked for it.
        die_with_parent: true,
    }
}

/// Node installed outside `/usr` (`/opt/node/bin/node`): its whole prefix, where npm lives too.
fn program_prefix(node: &Path) -> Option<PathBuf> {
    if node.starts_with("/usr") {
        return None;
    }
    node.parent().and_then(Path::parent).map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_renderer_writes_only_its_checkout_and_never_sees_git() {
        let spec = renderer_spec(
            Path::new("/d/sandboxes/a/checkout"),
            Path::new("/d/renderer/template/k/node_modules"),
            Path::new("/usr/bin/node"),
        );
        assert_eq!(spec.writable, [Path::new("/d/sandboxes/a/checkout")]);
        assert_eq!(
            spec.readable,
            [Path::new("/d/renderer/template/k/node_modules")]
        );
        assert_eq!(spec.hidden, [Path::new("/d/sandboxes/a/checkout/.git")]);
        assert!(!spec.die_with_parent);
    }

    #[test]
    fn node_outside_usr_brings_its_prefix() {
        let spec = npm_spec(
            Path::new("/d/renderer/deps/.tmp-x"),
            Path::new("/d/npm-cache"),
            Path::new("/d/renderer/jail/npm.sock"),
            Path::new("/d/renderer/jail/npm_bridge.mjs"),
            Path::new("/opt/node/bin/node"),
        );
        assert!(spec.readable.contains(&PathBuf::from("/opt/node")));
        assert!(spec.die_with_parent);
    }
}
