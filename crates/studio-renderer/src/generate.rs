//! Generating `<checkout>/.studio/` from the template.
//!
//! The template's files are copied as they are. Four files are written per sandbox:
//! `settings.json` (plain data the Vite config reads: absolute root, allowed host, cache dir; a change
//! needs a restart), `warmup.json` (files to pre-transform at start) and `src/generated.js` (what must be code, because Vite analyses it statically: the
//! `import.meta.glob` of the component globs and of the stories files in their directories, and
//! the imports of the setup modules, the wrapper and Storybook's `.storybook/preview.*`; and
//! `portable`, the import of the repository's own `@storybook/react` when it has one, whose
//! `composeStories` then renders the stories instead of the template's evaluator).
//! `components.json` gives the same globs and preview as plain data to the component manifest
//! (`manifest.mjs`, `GET /__studio/components`), which reads it on every request.
//! Every file is written only if its content changed, so regenerating under a running renderer
//! causes no reload, and a changed glob reaches the page as a hot update of `generated.js`.

use std::fs;
use std::path::Path;

use serde_json::json;
use studio_core::SandboxId;
use url::Url;

use crate::error::RendererError;
use crate::fs_util::{MANIFEST_CAP, read_repository_file, write_if_changed};
use crate::settings::{EXCLUDED_PATTERNS, RendererSettings, preview_file};

/// Template entries that are not part of the generated app.
const NOT_COPIED: [&str; 5] = [
    "node_modules",
    "package.json",
    "package-lock.json",
    "README.md",
    ".vite",
];
/// Files the template must have.
pub(crate) const REQUIRED_TEMPLATE_FILES: [&str; 5] = [
    "index.html",
    "server.mjs",
    "vite.config.mjs",
    "src/main.tsx",
    "package-lock.json",
];

/// What the generated app needs to know about its sandbox.
#[derive(Debug)]
pub(crate) struct AppInputs<'a> {
    pub checkout: &'a Path,
    pub template_dir: &'a Path,
    pub template_node_modules: &'a Path,
    pub settings: &'a RendererSettings,
    pub sandbox_id: &'a SandboxId,
    pub socket_url: Option<&'a Url>,
    pub preview_host: &'a str,
}

/// Writes `.studio/`. Returns whether `settings.json` changed (which needs a renderer restart:
/// the config is read once at start).
pub(crate) fn generate_app(inputs: &AppInputs<'_>) -> Result<bool, RendererError> {
    let studio = inputs.checkout.join(crate::STUDIO_DIR);
    copy_template(inputs.template_dir, &studio)?;
    link_template_store(inputs.template_node_modules, &studio.join("node_modules"))?;

    let settings = json!({
        "root": inputs.checkout,
        "studioDir": crate::STUDIO_DIR,
        "cacheDir": studio.join(".vite"),
        // The Host the front door forwards for this sandbox (`server.allowedHosts`).
        "allowedHosts": [inputs.preview_host],
    });
    let settings_changed = write_if_changed(&studio.join("settings.json"), &to_json(&settings)?)?;

    // Files Vite transforms while the browser is still connecting: the page's entry and every
    // component file (reached only through dynamic imports, which warm-up would not follow).
    // Read at start only; an outdated list costs a little speed, never correctness, so unlike
    // settings.json a change here needs no restart.
    let component_globs: Vec<String> = inputs
        .settings
        .components
        .iter()
        .cloned()
        .chain(EXCLUDED_PATTERNS.iter().map(|p| format!("!{p}")))
        .collect();
    let warmup: Vec<String> = std::iter::once(format!("{}/src/main.tsx", crate::STUDIO_DIR))
        .chain(component_globs.iter().cloned())
        .collect();
    write_if_changed(&studio.join("warmup.json"), &to_json(&json!(warmup))?)?;
    let preview = preview_file(inputs.checkout);
    write_if_changed(
        &studio.join("src/generated.js"),
        generated_module(inputs, preview).as_bytes(),
    )?;
    // The page's globs as data for the manifest, which matches them itself (it is no module Vite
    // analyses); repository-relative, exclusions as `!` globs.
    let manifest_inputs = json!({
        "components": component_globs,
        "stories": inputs.settings.story_globs(),
        "preview": preview,
    });
    write_if_changed(&studio.join("components.json"), &to_json(&manifest_inputs)?)?;
    Ok(settings_changed)
}

fn to_json(value: &serde_json::Value) -> Result<Vec<u8>, RendererError> {
    serde_json::to_vec_pretty(value).map_err(|e| RendererError::Task(e.to_string()))
}

/// A JavaScript string literal (JSON strings are valid JavaScript).
fn js_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// A lazily imported repository module: `{ path, load }`, or `null`.
fn module_ref(path: Option<&str>) -> String {
    path.map_or_else(
        || "null".to_owned(),
        |path| {
            format!(
                "{{ path: {}, load: () => import({}) }}",
                js_string(path),
                js_string(&format!("/{path}"))
            )
        },
    )
}

/// The repository's globs for `import.meta.glob` (root-absolute, exclusions kept), then `extra`.
fn glob_list(globs: &[String], extra: &[&str]) -> String {
    globs
        .iter()
        .map(|glob| match glob.strip_prefix('!') {
            Some(excluded) => format!("!/{excluded}"),
            None => format!("/{glob}"),
        })
        .chain(extra.iter().map(|glob| (*glob).to_owned()))
        .map(|glob| js_string(&glob))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The package of Storybook's portable-stories API (`composeStories`) for React.
const PORTABLE_STORIES_PACKAGE: &str = "@storybook/react";

/// Whether the repository renders its stories with its own Storybook: its `package.json` declares
/// `@storybook/react` (a package merely hoisted there by another one is not the repository's
/// choice) and it is installed. Its dependencies are linked before the app is generated, so an
/// absent package here is one the install did not provide, and the page must not import it.
fn uses_portable_stories(checkout: &Path) -> bool {
    let declared = read_repository_file(&checkout.join("package.json"), MANIFEST_CAP)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|manifest| {
            ["dependencies", "devDependencies"]
                .iter()
                .any(|field| manifest[field].get(PORTABLE_STORIES_PACKAGE).is_some())
        });
    declared
        && checkout
            .join("node_modules")
            .join(PORTABLE_STORIES_PACKAGE)
            .join("package.json")
            .is_file()
}

fn generated_module(inputs: &AppInputs<'_>, preview: Option<&str>) -> String {
    let settings = inputs.settings;
    // A bare specifier: Vite resolves it from `.studio/src/` upwards, i.e. in the checkout's own
    // `node_modules` (the template's store holds nothing of Storybook).
    let portable = if uses_portable_stories(inputs.checkout) {
        format!("() => import({})", js_string(PORTABLE_STORIES_PACKAGE))
    } else {
        "null".to_owned()
    };
    let setup: String = settings
        .setup
        .iter()
        .map(|path| {
            format!(
                "    [{}, () => import({})],\n",
                js_string(path),
                js_string(&format!("/{path}"))
            )
        })
        .collect();
    let wrapper = match &settings.wrapper {
        Some(w) => format!(
            "{{ path: {}, exportName: {}, load: () => import({}) }}",
            js_string(&w.path),
            js_string(&w.export),
            js_string(&format!("/{}", w.path))
        ),
        None => "null".to_owned(),
    };
    let excluded: Vec<String> = EXCLUDED_PATTERNS.iter().map(|p| format!("!{p}")).collect();
    let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
    let globs = glob_list(&settings.components, &excluded);
    let story_globs = glob_list(&settings.story_globs(), &[]);
    let socket = inputs
        .socket_url
        .map_or_else(|| "null".to_owned(), |url| js_string(url.as_str()));
    format!(
        "// Generated by Studio for sandbox {id}. Rewritten on every preparation: change the sandbox's\n\
         // settings or the repository's studio.json instead of this file.\n\
         import {{ publish }} from \"./registry.ts\";\n\
         \n\
         publish({{\n\
         \x20 sandboxId: {id_literal},\n\
         \x20 socketUrl: {socket},\n\
         \x20 setup: [\n{setup}  ],\n\
         \x20 wrapper: {wrapper},\n\
         \x20 components: import.meta.glob([{globs}]),\n\
         \x20 stories: import.meta.glob([{story_globs}]),\n\
         \x20 preview: {preview},\n\
         \x20 portable: {portable},\n\
         }});\n\
         \n\
         // A changed component, stories file, wrapper, preview or setup module re-runs this module\n\
         // (it imports them all), which publishes fresh loaders to the page instead of reloading it.\n\
         if (import.meta.hot) import.meta.hot.accept();\n",
        id = inputs.sandbox_id,
        id_literal = js_string(&inputs.sandbox_id.to_string()),
        preview = module_ref(preview),
    )
}

fn copy_template(from: &Path, to: &Path) -> Result<(), RendererError> {
    fs::create_dir_all(to).map_err(RendererError::io("create", to))?;
    for entry in fs::read_dir(from).map_err(RendererError::io("list", from))? {
        let entry = entry.map_err(RendererError::io("list", from))?;
        let name = entry.file_name();
        if NOT_COPIED.iter().any(|skip| name == *skip) {
            continue;
        }
        let (source, dest) = (entry.path(), to.join(&name));
        if entry
            .file_type()
            .map_err(RendererError::io("inspect", &source))?
            .is_dir()
        {
            copy_template(&source, &dest)?;
        } else {
            let content = fs::read(&source).map_err(RendererError::io("read", &source))?;
            write_if_changed(&dest, &content)?;
        }
    }
    Ok(())
}

/// Points `.studio/node_modules` at the template store, replacing an outdated link atomically.
fn link_template_store(store: &Path, link: &Path) -> Result<(), RendererError> {
    if fs::read_link(link).is_ok_and(|current| current == store) {
        return Ok(());
    }
    let tmp = link.with_file_name(format!(".node_modules-{:08x}", rand::random::<u32>()));
    std::os::unix::fs::symlink(store, &tmp).map_err(RendererError::io("create link", &tmp))?;
    fs::rename(&tmp, link).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        RendererError::io("replace link", link)(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::WrapperRef;

    #[test]
    fn generated_module_holds_globs_setup_wrapper_and_socket() {
        let settings = RendererSettings {
            components: vec!["src/**/*.tsx".into(), "!src/internal/**".into()],
            setup: vec!["src/tokens.css".into()],
            wrapper: Some(WrapperRef {
                path: "src/Theme.tsx".into(),
                export: "Theme".into(),
            }),
        };
        let id = SandboxId::from_random([7; 8]);
        let url =
            Url::parse("ws://127.0.0.1:7700/api/v1/sandboxes/sb_0707070707070707/ws").unwrap();
        let inputs = AppInputs {
            checkout: Path::new("/repo"),
            template_dir: Path::new("/t"),
            template_node_modules: Path::new("/t/node_modules"),
            settings: &settings,
            sandbox_id: &id,
            socket_url: Some(&url),
            preview_host: "sb-0101010101010101.localhost",
        };
        let module = generated_module(&inputs, Some(".storybook/preview.tsx"));
        assert!(module.contains(r#"import.meta.glob(["/src/**/*.tsx", "!/src/internal/**", "!**/*.stories.*", "!**/*.test.*", "!**/*.spec.*"])"#), "{module}");
        assert!(
            module.contains(r#"["src/tokens.css", () => import("/src/tokens.css")]"#),
            "{module}"
        );
        assert!(module.contains(r#"{ path: "src/Theme.tsx", exportName: "Theme", load: () => import("/src/Theme.tsx") }"#), "{module}");
        assert!(
            module.contains(
                r#"socketUrl: "ws://127.0.0.1:7700/api/v1/sandboxes/sb_0707070707070707/ws""#
            ),
            "{module}"
        );
        assert!(module.contains(r#"sandboxId: "sb_0707070707070707""#));
        // Stories come from the component globs' directories; the preview module when it exists.
        assert!(
            module.contains(r#"stories: import.meta.glob(["/src/**/*.stories.{tsx,jsx,ts,js}", "!/src/internal/**"])"#),
            "{module}"
        );
        assert!(
            module.contains(r#"preview: { path: ".storybook/preview.tsx", load: () => import("/.storybook/preview.tsx") }"#),
            "{module}"
        );
        assert!(generated_module(&inputs, None).contains("preview: null"));
        assert!(module.contains("portable: null"), "{module}");
    }

    #[test]
    fn portable_stories_only_when_declared_and_installed() {
        let checkout = tempfile::tempdir().unwrap();
        let package = checkout.path().join("node_modules/@storybook/react");
        let write_manifest = |field: &str| {
            let manifest = format!(r#"{{"{field}": {{"@storybook/react": "10.6.9"}}}}"#);
            fs::write(checkout.path().join("package.json"), manifest).unwrap();
        };
        write_manifest("devDependencies");
        assert!(
            !uses_portable_stories(checkout.path()),
            "declared, not installed"
        );
        fs::create_dir_all(&package).unwrap();
        fs::write(package.join("package.json"), "{}").unwrap();
        assert!(uses_portable_stories(checkout.path()));
        write_manifest("dependencies");
        assert!(uses_portable_stories(checkout.path()));
        // Installed only as another package's dependency: not the repository's Storybook.
        write_manifest("peerDependencies");
        assert!(!uses_portable_stories(checkout.path()));
        write_manifest("devDependencies");

        let settings = RendererSettings {
            components: vec!["src/**/*.tsx".into()],
            setup: vec![],
            wrapper: None,
        };
        let id = SandboxId::from_random([7; 8]);
        let inputs = AppInputs {
            checkout: checkout.path(),
            template_dir: Path::new("/t"),
            template_node_modules: Path::new("/t/node_modules"),
            settings: &settings,
            sandbox_id: &id,
            socket_url: None,
            preview_host: "sb-0101010101010101.localhost",
        };
        let module = generated_module(&inputs, None);
        assert!(
            module.contains(r#"portable: () => import("@storybook/react"),"#),
            "{module}"
        );
    }

    #[test]
    fn quotes_in_paths_cannot_escape_the_string() {
        assert_eq!(js_string(r#"a"); alert(1); ("#), r#""a\"); alert(1); (""#);
    }
}
