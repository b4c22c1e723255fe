// Builds the answer of `GET /__studio/components` (see `manifest.mjs`): the page's components in
// the page's order, each with its props and stories.

import { readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { ValueResolver, componentsOfModule } from "./components.mjs";
import { documentFile, propsFor } from "./docgen.mjs";
import { AnalysisCache, matchFiles, readDependency } from "./files.mjs";
import { ParseError, moduleScope, parseModule } from "./parse.mjs";
import { resolveImport } from "./resolve.mjs";
import { inDev, previewOfModule, storiesOfModule } from "./stories.mjs";

/** More component and stories files than this are cut (an error entry says so). */
export const MAX_FILES = 2000;

const directoryOf = (file) => file.slice(0, file.lastIndexOf("/") + 1);

/** `{result, deps}` of `analyse(scope)`, or the file's error as the result (so a broken file is
 * not parsed again until it changes). Whatever a file holds, it fails alone, never the request. */
function parsed(path, code, analyse) {
  try {
    return analyse(moduleScope(path, parseModule(path, code)));
  } catch (error) {
    const failure =
      error instanceof ParseError
        ? { message: error.message, line: error.line }
        : { message: `could not be analysed: ${error?.message ?? error}`, line: null };
    return { result: { error: failure }, deps: new Map() };
  }
}

/** A component file: its components with props, and the origins of its component exports. */
function analyseComponentFile(root, path, file, code, countParse) {
  return parsed(path, code, (scope) => {
    const deps = new Map();
    const scopes = new Map();
    // Imports and re-exports are followed into the repository's files (parsed once per file).
    const load = (target) => {
      if (!scopes.has(target)) {
        const dependency = readDependency(target);
        let targetScope = null;
        if (dependency) {
          deps.set(target, dependency.hash);
          countParse();
          try {
            targetScope = moduleScope(target, parseModule(target, dependency.content.toString("utf8")));
          } catch {
            // A broken import is the page's error card of that file, not this one's.
          }
        }
        scopes.set(target, targetScope);
      }
      return scopes.get(target);
    };
    const { components, origins } = componentsOfModule(new ValueResolver(root, load), scope, file);
    const documented = components.length > 0 ? documentFile(root, path, code) : { docs: [], deps: [] };
    for (const dependency of documented.deps) {
      const read = readDependency(dependency);
      if (read) deps.set(dependency, read.hash);
    }
    const withProps = components.map((component) => ({ ...component, props: propsFor(documented.docs, component) }));
    return { result: { components: withProps, origins }, deps };
  });
}

const asResult = (analyse) => (scope) => ({ result: analyse(scope), deps: new Map() });

/** Gives each component the stories whose meta names it, as the page's `attachStories` does. */
function attachStories(root, entries, componentResults, storyFiles, preview) {
  let added = false;
  for (const { file, result } of storyFiles) {
    const stories = result.stories
      .filter((story) => inDev([preview.tags, result.tags, story.tags]))
      .map((story) => ({ name: story.name, export: story.export, file, args: { ...preview.args, ...result.args, ...story.args } }));
    if (stories.length === 0) continue;
    // By identity: the export `meta.component` imports is the same value as a component's.
    const ref = result.component;
    let metaName = ref?.imported && ref.imported !== "default" ? ref.imported : ref?.local;
    let index = -1;
    if (ref?.source) {
      const target = resolveImport(root, join(root, file), ref.source);
      const origin = target ? componentResults.get(relative(root, target))?.origins?.[ref.imported] : undefined;
      if (origin) {
        index = entries.findIndex((entry) => entry.origin === origin);
        metaName = origin.slice(origin.lastIndexOf("#") + 1);
      }
    }
    // Else by name, in the same directory.
    if (index === -1) {
      index = entries.findIndex(
        (entry) => (entry.name === metaName || entry.name === result.name) && directoryOf(entry.file) === directoryOf(file),
      );
    }
    if (index === -1) {
      entries.push({ name: result.name, file, export: null, origin: null, props: [], stories });
      added = true;
    } else {
      entries[index] = { ...entries[index], stories: [...entries[index].stories, ...stories] };
    }
  }
  // Array sort is stable: within a file, the order stays.
  return added ? entries.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)) : entries;
}

/** `{components, errors, parsed}`; `parsed` counts the files this call had to parse. */
export async function buildManifest(settings, cache) {
  const { root, studioDir } = settings;
  const config = JSON.parse(await readFile(join(root, studioDir, "components.json"), "utf8"));
  const errors = [];
  let parseCount = 0;
  const countParse = () => {
    parseCount += 1;
  };
  let componentFiles = await matchFiles(root, studioDir, config.components ?? []);
  let storyFiles = await matchFiles(root, studioDir, config.stories ?? []);
  if (componentFiles.length + storyFiles.length > MAX_FILES) {
    errors.push({
      file: null,
      message: `${componentFiles.length + storyFiles.length} component and stories files match; only the first ${MAX_FILES} are listed`,
    });
    componentFiles = componentFiles.slice(0, MAX_FILES);
    storyFiles = storyFiles.slice(0, MAX_FILES - componentFiles.length);
  }

  const read = async (file, kind, analyse) => {
    const path = join(root, file);
    const outcome = await cache.get(path, kind, (code) => analyse(path, code), countParse);
    const failed = outcome.result?.error;
    const fileErrors = outcome.skipped ? [{ file, message: outcome.skipped }] : failed ? [{ file, ...failed }] : [];
    // A file that fails now is listed as it last parsed, beside its error.
    const result = outcome.result && !failed ? outcome.result : (outcome.good ?? null);
    return { file, fileErrors, result };
  };
  const readAll = async (files, kind, analyse) => {
    const outcomes = [];
    for (const file of files) {
      const outcome = await read(file, kind, analyse(file));
      errors.push(...outcome.fileErrors);
      if (outcome.result) outcomes.push(outcome);
    }
    return outcomes;
  };

  const previewOf = () => (path, code) => parsed(path, code, asResult(previewOfModule));
  const [previewOutcome] = config.preview ? await readAll([config.preview], "preview", previewOf) : [];
  const preview = previewOutcome?.result ?? { args: {}, tags: [] };
  const componentOf = (file) => (path, code) => analyseComponentFile(root, path, file, code, countParse);
  const componentOutcomes = await readAll(componentFiles, "component", componentOf);
  const storiesOf = (file) => (path, code) => parsed(path, code, asResult((scope) => storiesOfModule(scope, file)));
  const storyResults = await readAll(storyFiles, "stories", storiesOf);
  const componentResults = new Map(componentOutcomes.map(({ file, result }) => [file, result]));
  const entries = componentOutcomes.flatMap(({ file, result }) => result.components.map((component) => ({ ...component, file, stories: [] })));
  const matched = [...componentFiles, ...storyFiles, ...(config.preview ? [config.preview] : [])];
  cache.retain(new Set(matched.map((file) => join(root, file))));
  // A re-export (`export * from "./Button"` in an index file) is the same value as the export
  // it re-exports, documented in its own file.
  const documented = new Map(entries.filter((entry) => entry.props.length > 0).map((entry) => [entry.origin, entry.props]));
  for (const entry of entries) if (entry.props.length === 0) entry.props = documented.get(entry.origin) ?? [];

  const attached = attachStories(root, entries, componentResults, storyResults, preview);
  const components = attached.map(({ name, file, export: exportName, props, stories }) => ({ name, file, export: exportName, props, stories }));
  return { components, errors, parsed: parseCount };
}

export { AnalysisCache };
