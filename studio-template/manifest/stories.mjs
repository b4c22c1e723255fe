// A stories file's stories, statically: the rules of the page's `src/stories.ts` (`storiesOf`),
// which evaluates the imported module instead.
//
// A file without a default export (meta) that is an object has no stories. Story exports are the
// named exports in `__namedExportsOrder` when the file has one, else in the module namespace's
// (alphabetical) order, minus `default`, `__…` names and those `includeStories` /
// `excludeStories` (names or a RegExp) leave out; objects are CSF 3 stories, functions CSF 2 ones
// (annotated by `Story.args = …`, `Story.storyName = …`); other values are not stories. What
// depends on `.storybook/preview.*` (its args and tags) is applied later, in `manifest.mjs`.

import { Evaluator, FunctionValue, UNKNOWN, isPlainObject, toJson } from "./evaluate.mjs";
import { unwrap } from "./parse.mjs";

/** Storybook's story name of an export: `PrimaryLarge` → "Primary Large", `with_icon2` → "With Icon 2". */
export function startCase(name) {
  return name
    .replace(/([a-z\d])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .replace(/([a-zA-Z])(\d)/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(" ");
}

function matches(name, matcher) {
  if (Array.isArray(matcher)) return matcher.includes(name);
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0;
    return matcher.test(name);
  }
  return false;
}

/** Storybook's `isExportStory`. */
function isStoryExport(name, meta) {
  if (name === "default" || name.startsWith("__")) return false;
  if (meta.includeStories && !matches(name, meta.includeStories)) return false;
  return !(meta.excludeStories && matches(name, meta.excludeStories));
}

/** The strings of a `tags` value (the page flattens whatever it is given). */
export const tagsOf = (tags) => (Array.isArray(tags) ? tags : [tags]).filter((tag) => typeof tag === "string");

/** Storybook's tag rule: stories are in `dev` unless a `!dev` (not re-added later) removes it. */
export function inDev(tagLists) {
  let dev = true;
  for (const tag of tagLists.flat()) {
    if (tag === "!dev") dev = false;
    else if (tag === "dev") dev = true;
  }
  return dev;
}

/** `args` as JSON, or `{}` when they are not an object literal. */
export const argsOf = (value) => (isPlainObject(value) ? toJson(value) : {});

/** A story's annotations: a CSF 2 story is its render function, with annotations as properties. */
function annotationsOf(value) {
  if (value instanceof FunctionValue) {
    const story = isPlainObject(value.props.story) ? value.props.story : {};
    return { ...story, ...value.props, name: value.props.storyName ?? story.name };
  }
  if (isPlainObject(value)) return value;
  // Arrays, RegExps and values only known at run time are objects to the page too, as far as
  // anything here can tell.
  if (value === UNKNOWN || (value !== null && typeof value === "object")) return {};
  return null;
}

/** The node of `meta.component`, when meta is an object literal (directly or through a const). */
function metaComponentNode(scope) {
  const entry = scope.exports.get("default");
  let node = entry?.kind === "value" ? unwrap(entry.node) : null;
  if (entry?.kind === "local") {
    const binding = scope.bindings.get(entry.local);
    node = binding?.kind === "var" ? unwrap(binding.init) : null;
  }
  if (node?.type !== "ObjectExpression") return null;
  const property = node.properties.findLast(
    (p) => p.type === "ObjectProperty" && !p.computed && (p.key.name ?? p.key.value) === "component",
  );
  return property ? unwrap(property.value) : null;
}

/** What `meta.component` refers to: `{local, source?, imported?}` (an import) or `null`. */
function componentRef(scope) {
  const node = metaComponentNode(scope);
  if (node?.type !== "Identifier") return null;
  const binding = scope.bindings.get(node.name);
  if (binding?.kind === "import") return { local: node.name, source: binding.source, imported: binding.imported };
  return binding ? { local: node.name } : null;
}

/** `Components/Button` → `Button`; untitled: the file's name without `.stories.*`. */
function nameOfStoriesFile(file, meta) {
  const titled = typeof meta.title === "string" ? meta.title.split("/").at(-1)?.trim() : "";
  if (titled) return titled;
  return (file.split("/").at(-1) ?? file).replace(/\.stories\.[^.]+$/, "");
}

/**
 * The stories of one stories file (JSON, cacheable): `null` without a meta, else
 * `{name, component, args, tags, stories: [{export, name, args, tags}]}` where `args` and `tags`
 * are meta's and each story's own (the preview's are merged in later).
 */
export function storiesOfModule(scope, file) {
  const evaluator = new Evaluator(scope);
  const meta = scope.exports.has("default") ? evaluator.exported("default") : undefined;
  if (meta instanceof FunctionValue || meta === null || (typeof meta !== "object" && meta !== UNKNOWN)) return null;
  const annotations = isPlainObject(meta) ? meta : {};
  const names = new Set(scope.exports.keys());
  const declaredOrder = evaluator.exported("__namedExportsOrder");
  const order = Array.isArray(declaredOrder) ? declaredOrder.filter((name) => typeof name === "string" && names.has(name)) : [...names].sort();
  const stories = [];
  for (const exportName of order) {
    if (!isStoryExport(exportName, annotations)) continue;
    const story = annotationsOf(evaluator.exported(exportName));
    if (!story) continue;
    const title = story.name ?? story.storyName;
    stories.push({
      export: exportName,
      name: typeof title === "string" ? title : startCase(exportName),
      args: argsOf(story.args),
      tags: story.tags === undefined ? [] : tagsOf(story.tags),
    });
  }
  return {
    name: nameOfStoriesFile(file, annotations),
    component: componentRef(scope),
    args: argsOf(annotations.args),
    tags: annotations.tags === undefined ? [] : tagsOf(annotations.tags),
    stories,
  };
}

/** The preview's args and tags: its default export over (older style) its named exports. */
export function previewOfModule(scope) {
  const evaluator = new Evaluator(scope);
  const fallback = evaluator.exported("default");
  const named = { args: evaluator.exported("args"), tags: evaluator.exported("tags") };
  const annotations = { ...named, ...(isPlainObject(fallback) ? fallback : {}) };
  return {
    args: argsOf(annotations.args),
    tags: annotations.tags === undefined || annotations.tags === UNKNOWN ? [] : tagsOf(annotations.tags),
  };
}
