//! What a file write in a checkout means for its renderer.

use crate::settings::PREVIEW_FILES;

/// How the renderer must react to a write (or delete) of one repository path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteEffect {
    /// Vite sees the change and hot-updates the page by itself: nothing to do.
    HotUpdate,
    /// `studio.json` or Storybook's `.storybook/preview.*` changed (the generated imports
    /// name the preview module only when it exists): call [`Renderer::prepare`](crate::Renderer::prepare) again; it
    /// regenerates `.studio/` and the page hot-updates, no restart.
    Regenerate,
    /// `package.json`, the lockfile or `.npmrc` changed: call `prepare` (which installs into a
    /// new store entry and swaps it in) and then restart the renderer, because Vite does not
    /// watch dependencies.
    ReinstallAndRestart,
    /// The path is Studio's (`.studio/` or `node_modules/`): reject the write. Files under
    /// `node_modules/` are hard links into a store that other sandboxes share.
    Reserved,
}

/// Classifies a write to `path`, relative to the repository root (`./` and `/` prefixes allowed).
///
/// Only the root manifests count: a `package.json` in a subfolder is not what npm installs from.
pub fn write_effect(path: &str) -> WriteEffect {
    let path = path.trim_start_matches("./").trim_start_matches('/');
    let first = path.split('/').next().unwrap_or_default();
    if first == crate::STUDIO_DIR || first == "node_modules" {
        return WriteEffect::Reserved;
    }
    match path {
        "package.json" | "package-lock.json" | "npm-shrinkwrap.json" | ".npmrc" => {
            WriteEffect::ReinstallAndRestart
        }
        path if path == crate::STUDIO_JSON || PREVIEW_FILES.contains(&path) => {
            WriteEffect::Regenerate
        }
        _ => WriteEffect::HotUpdate,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_manifests_need_a_restart() {
        for path in [
            "package.json",
            "./package-lock.json",
            "/npm-shrinkwrap.json",
            ".npmrc",
        ] {
            assert_eq!(
                write_effect(path),
                WriteEffect::ReinstallAndRestart,
                "{path}"
            );
        }
        assert_eq!(write_effect("studio.json"), WriteEffect::Regenerate);
        assert_eq!(
            write_effect(".storybook/preview.tsx"),
            WriteEffect::Regenerate
        );
        assert_eq!(write_effect(".storybook/main.ts"), WriteEffect::HotUpdate);
        for path in [
            ".studio/src/generated.js",
            "node_modules/react/index.js",
            "./node_modules",
            "/.studio",
        ] {
            assert_eq!(write_effect(path), WriteEffect::Reserved, "{path}");
        }
        assert_eq!(write_effect("src/node_modules.tsx"), WriteEffect::HotUpdate);
        for path in [
            "src/components/Button.tsx",
            "packages/ui/package.json",
            "src/package-lock.json",
            "README.md",
        ] {
            assert_eq!(write_effect(path), WriteEffect::HotUpdate, "{path}");
        }
    }
}
