//! The renderer's per-sandbox settings: which files hold components, which modules run first,
//! which provider wraps each component. They come from the create request and from the
//! repository's `studio.json`; for each field the request wins, then `studio.json`, then the
//! default. Everything is validated here, so that the generated code can trust it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use studio_core::{DEFAULT_COMPONENT_GLOB, SandboxConfig};

use crate::error::RendererError;
use crate::fs_util::{MANIFEST_CAP, read_repository_file};

/// What the create request says about the renderer. `None` means "not given", so that
/// `studio.json` (or the default) applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RendererOverrides {
    pub components: Option<Vec<String>>,
    pub setup: Option<Vec<String>>,
    pub wrapper: Option<String>,
}

impl RendererOverrides {
    /// The overrides a stored [`SandboxConfig`] stands for. A config cannot tell "not given" from
    /// "given as the default", so default values (the default glob, no setup, no wrapper) are
    /// treated as not given and let `studio.json` speak.
    pub fn from_config(config: &SandboxConfig) -> Self {
        let default_globs =
            config.components.len() == 1 && config.components[0] == DEFAULT_COMPONENT_GLOB;
        Self {
            components: (!default_globs && !config.components.is_empty())
                .then(|| config.components.clone()),
            setup: (!config.setup.is_empty()).then(|| config.setup.clone()),
            wrapper: config.wrapper.clone(),
        }
    }
}

/// A provider component: `path#Export` (or just `path` for its default export).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WrapperRef {
    /// Repository-relative path of the module.
    pub path: String,
    /// The export to use; `default` when the reference has no `#Export`.
    pub export: String,
}

/// Validated settings of one sandbox's renderer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RendererSettings {
    /// Component globs, repository-relative; a leading `!` excludes.
    pub components: Vec<String>,
    /// Repository-relative paths imported in order before any component.
    pub setup: Vec<String>,
    pub wrapper: Option<WrapperRef>,
}

/// Files matched by the component globs that are never components. Stories files are loaded
/// through [`RendererSettings::story_globs`] instead, and rendered as their component's stories.
pub(crate) const EXCLUDED_PATTERNS: [&str; 3] = ["**/*.stories.*", "**/*.test.*", "**/*.spec.*"];

/// The file part of a story glob: a component glob's directories with this in place of its file
/// part (MDX docs are not rendered).
pub(crate) const STORIES_FILE: &str = "*.stories.{tsx,jsx,ts,js}";

/// Storybook's preview module, in the order Storybook looks for it: its default export's
/// `decorators` and `parameters` apply to every story.
pub(crate) const PREVIEW_FILES: [&str; 4] = [
    ".storybook/preview.tsx",
    ".storybook/preview.ts",
    ".storybook/preview.jsx",
    ".storybook/preview.js",
];

const MAX_SETTING_LEN: usize = 512;

impl RendererSettings {
    /// Merges the request's overrides over the checkout's `studio.json` and validates the result
    /// against the checkout (setup modules and the wrapper must exist).
    pub fn resolve(checkout: &Path, overrides: &RendererOverrides) -> Result<Self, RendererError> {
        let file = StudioJson::read(checkout)?.unwrap_or_default();
        let components = match pick(&overrides.components, &file.components) {
            Some((globs, origin)) => validate_globs(globs, origin)?,
            None => vec![DEFAULT_COMPONENT_GLOB.to_owned()],
        };
        let setup = match pick(&overrides.setup, &file.setup) {
            Some((paths, origin)) => paths
                .iter()
                .map(|path| validate_module_path(checkout, "setup", path, origin))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let wrapper = match pick(&overrides.wrapper, &file.wrapper) {
            Some((reference, origin)) => Some(parse_wrapper(checkout, reference, origin)?),
            None => None,
        };
        Ok(Self {
            components,
            setup,
            wrapper,
        })
    }
}

impl RendererSettings {
    /// The globs of the stories files: each component glob with its file part replaced by
    /// `*.stories.{tsx,jsx,ts,js}` (so stories are found in the directories components are),
    /// exclusions kept as they are. Without duplicates, in the component globs' order.
    pub fn story_globs(&self) -> Vec<String> {
        let mut globs: Vec<String> = Vec::new();
        for glob in &self.components {
            let story_glob = if glob.starts_with('!') {
                glob.clone()
            } else {
                match glob.rsplit_once('/') {
                    Some((dirs, _)) => format!("{dirs}/{STORIES_FILE}"),
                    None => STORIES_FILE.to_owned(),
                }
            };
            if !globs.contains(&story_glob) {
                globs.push(story_glob);
            }
        }
        globs
    }
}

/// The repository's Storybook preview module (repository-relative), if it has a plain file one.
pub(crate) fn preview_file(checkout: &Path) -> Option<&'static str> {
    PREVIEW_FILES.into_iter().find(|path| {
        std::fs::symlink_metadata(checkout.join(path)).is_ok_and(|meta| meta.file_type().is_file())
    })
}

/// The value the request gives, else the one `studio.json` gives, with where it came from.
fn pick<'a, T>(request: &'a Option<T>, repo: &'a Option<T>) -> Option<(&'a T, &'static str)> {
    match (request, repo) {
        (Some(value), _) => Some((value, "the request")),
        (None, Some(value)) => Some((value, "studio.json")),
        (None, None) => None,
    }
}

/// The repository's `studio.json`: the same three fields as the request.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StudioJson {
    components: Option<Vec<String>>,
    setup: Option<Vec<String>>,
    wrapper: Option<String>,
}

impl StudioJson {
    fn read(checkout: &Path) -> Result<Option<Self>, RendererError> {
        let path = checkout.join(crate::STUDIO_JSON);
        let Some(bytes) = read_repository_file(&path, MANIFEST_CAP)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RendererError::StudioJson {
                path,
                reason: e.to_string(),
            })
    }
}

fn invalid(
    field: &'static str,
    value: &str,
    origin: &'static str,
    reason: impl Into<String>,
) -> RendererError {
    RendererError::InvalidSetting {
        field,
        value: value.to_owned(),
        origin,
        reason: reason.into(),
    }
}

/// Checks what every repository path must satisfy: relative, inside the repository, printable.
fn check_relative(
    field: &'static str,
    value: &str,
    origin: &'static str,
) -> Result<(), RendererError> {
    if value.is_empty() {
        return Err(invalid(field, value, origin, "must not be empty"));
    }
    if value.len() > MAX_SETTING_LEN {
        return Err(invalid(
            field,
            value,
            origin,
            format!("longer than {MAX_SETTING_LEN} bytes"),
        ));
    }
    if value.starts_with('/') || value.contains('\\') {
        return Err(invalid(
            field,
            value,
            origin,
            "must be relative to the repository root, with / separators",
        ));
    }
    if value.split('/').any(|segment| segment == "..") {
        return Err(invalid(
            field,
            value,
            origin,
            "must stay inside the repository (no `..`)",
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(invalid(field, value, origin, "contains control characters"));
    }
    Ok(())
}

fn validate_globs(globs: &[String], origin: &'static str) -> Result<Vec<String>, RendererError> {
    if globs.iter().all(|g| g.starts_with('!')) {
        return Err(invalid(
            "components",
            &globs.join(", "),
            origin,
            "needs at least one glob that is not an exclusion",
        ));
    }
    for glob in globs {
        let pattern = glob.strip_prefix('!').unwrap_or(glob);
        check_relative("components", pattern, origin)?;
        if pattern.starts_with("./") {
            return Err(invalid(
                "components",
                glob,
                origin,
                "write globs without a leading ./",
            ));
        }
    }
    Ok(globs.to_vec())
}

/// A module path (setup or wrapper): a plain existing file, usable as an import URL.
fn validate_module_path(
    checkout: &Path,
    field: &'static str,
    path: &str,
    origin: &'static str,
) -> Result<String, RendererError> {
    let path = path.strip_prefix("./").unwrap_or(path);
    check_relative(field, path, origin)?;
    if path.contains(['*', '?', '#', '%', '{', '}', '[', ']']) {
        return Err(invalid(
            field,
            path,
            origin,
            "must be a plain file path (no glob, ?, # or %)",
        ));
    }
    if !checkout.join(path).is_file() {
        return Err(invalid(
            field,
            path,
            origin,
            "no such file in the repository",
        ));
    }
    Ok(path.to_owned())
}

fn parse_wrapper(
    checkout: &Path,
    reference: &str,
    origin: &'static str,
) -> Result<WrapperRef, RendererError> {
    let (path, export) = reference.split_once('#').unwrap_or((reference, "default"));
    let is_identifier = export
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && export
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if !is_identifier {
        return Err(invalid(
            "wrapper",
            reference,
            origin,
            "the export after # must be a JavaScript identifier, e.g. src/theme.tsx#ThemeProvider",
        ));
    }
    let path = validate_module_path(checkout, "wrapper", path, origin)?;
    Ok(WrapperRef {
        path,
        export: export.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn repo(studio_json: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src/theme")).unwrap();
        fs::write(dir.path().join("src/tokens.css"), ":root{}").unwrap();
        fs::write(
            dir.path().join("src/theme/Theme.tsx"),
            "export function Theme() {}",
        )
        .unwrap();
        if let Some(json) = studio_json {
            fs::write(dir.path().join("studio.json"), json).unwrap();
        }
        dir
    }

    #[test]
    fn defaults_apply_without_request_or_studio_json() {
        let dir = repo(None);
        let settings =
            RendererSettings::resolve(dir.path(), &RendererOverrides::default()).unwrap();
        assert_eq!(settings.components, vec![DEFAULT_COMPONENT_GLOB]);
        assert!(settings.setup.is_empty());
        assert_eq!(settings.wrapper, None);
    }

    #[test]
    fn studio_json_fills_what_the_request_leaves_out() {
        let dir = repo(Some(
            r#"{"components": ["lib/**/*.tsx"], "setup": ["src/tokens.css"], "wrapper": "src/theme/Theme.tsx#Theme"}"#,
        ));
        let overrides = RendererOverrides {
            components: Some(vec!["src/**/*.tsx".into(), "!src/internal/**".into()]),
            ..Default::default()
        };
        let settings = RendererSettings::resolve(dir.path(), &overrides).unwrap();
        assert_eq!(
            settings.components,
            vec!["src/**/*.tsx", "!src/internal/**"]
        );
        assert_eq!(settings.setup, vec!["src/tokens.css"]);
        let wrapper = settings.wrapper.unwrap();
        assert_eq!(
            (wrapper.path.as_str(), wrapper.export.as_str()),
            ("src/theme/Theme.tsx", "Theme")
        );
    }

    #[test]
    fn a_wrapper_without_export_uses_the_default_export() {
        let dir = repo(None);
        let overrides = RendererOverrides {
            wrapper: Some("./src/theme/Theme.tsx".into()),
            ..Default::default()
        };
        let wrapper = RendererSettings::resolve(dir.path(), &overrides)
            .unwrap()
            .wrapper
            .unwrap();
        assert_eq!(
            (wrapper.path.as_str(), wrapper.export.as_str()),
            ("src/theme/Theme.tsx", "default")
        );
    }

    #[test]
    fn bad_settings_name_the_field_and_origin() {
        let dir = repo(None);
        let cases = [
            (
                RendererOverrides {
                    components: Some(vec!["../secrets/*.tsx".into()]),
                    ..Default::default()
                },
                "no `..`",
            ),
            (
                RendererOverrides {
                    components: Some(vec!["/abs/*.tsx".into()]),
                    ..Default::default()
                },
                "relative",
            ),
            (
                RendererOverrides {
                    components: Some(vec!["!src/x.tsx".into()]),
                    ..Default::default()
                },
                "exclusion",
            ),
            (
                RendererOverrides {
                    setup: Some(vec!["src/missing.css".into()]),
                    ..Default::default()
                },
                "no such file",
            ),
            (
                RendererOverrides {
                    setup: Some(vec!["src/*.css".into()]),
                    ..Default::default()
                },
                "plain file",
            ),
            (
                RendererOverrides {
                    wrapper: Some("src/theme/Theme.tsx#not valid".into()),
                    ..Default::default()
                },
                "identifier",
            ),
        ];
        for (overrides, expected) in cases {
            let err = RendererSettings::resolve(dir.path(), &overrides)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(expected) && err.contains("the request"),
                "{err}"
            );
        }
    }

    #[test]
    fn broken_studio_json_is_reported_with_its_path() {
        let dir = repo(Some(r#"{"setup": "not-a-list"}"#));
        let err = RendererSettings::resolve(dir.path(), &RendererOverrides::default()).unwrap_err();
        assert!(matches!(err, RendererError::StudioJson { .. }), "{err}");
        assert!(err.to_string().contains("studio.json"));
        let dir = repo(Some(r#"{"wraper": "typo"}"#));
        let err = RendererSettings::resolve(dir.path(), &RendererOverrides::default()).unwrap_err();
        assert!(err.to_string().contains("wraper"), "{err}");
    }

    #[test]
    fn story_globs_follow_the_component_globs_directories() {
        let settings = RendererSettings {
            components: vec![
                "src/components/**/*.{tsx,jsx}".into(),
                "src/components/**/*.tsx".into(),
                "!src/internal/**".into(),
                "*.tsx".into(),
            ],
            setup: Vec::new(),
            wrapper: None,
        };
        assert_eq!(
            settings.story_globs(),
            [
                "src/components/**/*.stories.{tsx,jsx,ts,js}",
                "!src/internal/**",
                "*.stories.{tsx,jsx,ts,js}",
            ]
        );
    }

    #[test]
    fn the_preview_is_found_in_storybooks_order() {
        let dir = repo(None);
        assert_eq!(preview_file(dir.path()), None);
        fs::create_dir_all(dir.path().join(".storybook")).unwrap();
        fs::write(dir.path().join(".storybook/main.ts"), "export default {}").unwrap();
        assert_eq!(preview_file(dir.path()), None);
        fs::write(
            dir.path().join(".storybook/preview.js"),
            "export default {}",
        )
        .unwrap();
        assert_eq!(preview_file(dir.path()), Some(".storybook/preview.js"));
        fs::write(
            dir.path().join(".storybook/preview.tsx"),
            "export default {}",
        )
        .unwrap();
        assert_eq!(preview_file(dir.path()), Some(".storybook/preview.tsx"));
        // A symlink is not followed out of the repository.
        fs::remove_file(dir.path().join(".storybook/preview.tsx")).unwrap();
        fs::remove_file(dir.path().join(".storybook/preview.js")).unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join(".storybook/preview.ts"))
            .unwrap();
        assert_eq!(preview_file(dir.path()), None);
    }

    #[test]
    fn config_defaults_do_not_override_studio_json() {
        let config = SandboxConfig::default();
        assert_eq!(
            RendererOverrides::from_config(&config),
            RendererOverrides::default()
        );
        let config = SandboxConfig {
            setup: vec!["a.css".into()],
            wrapper: Some("w.tsx#W".into()),
            ..SandboxConfig::default()
        };
        let overrides = RendererOverrides::from_config(&config);
        assert_eq!(overrides.setup, Some(vec!["a.css".to_owned()]));
        assert_eq!(overrides.wrapper.as_deref(), Some("w.tsx#W"));
        assert_eq!(overrides.components, None);
    }
}
