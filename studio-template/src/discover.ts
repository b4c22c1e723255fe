// Which exports of a component file are components, and what they are called.

import type { Loader } from "./registry.ts";
import type { StoriesFile, Story } from "./stories.ts";

export interface ComponentEntry {
  /** Unique on the page: `<file>#<export>`. */
  id: string;
  name: string;
  /** Repository-relative path, e.g. `src/components/Button/Button.tsx`. */
  file: string;
  component: unknown;
  /** Its stories, when a stories file's meta names it: shown instead of the bare component. */
  stories?: Story[];
}

/** A file that could not be imported: it is shown in place, as an error card. */
export interface BrokenFile {
  file: string;
  error: unknown;
}

export interface Discovered {
  components: ComponentEntry[];
  broken: BrokenFile[];
  /** Stories files that loaded, not yet evaluated (that needs the preview). */
  storyModules: Array<{ file: string; module: Record<string, unknown> }>;
}

const REACT_WRAPPER_TYPES = new Set([
  Symbol.for("react.memo"),
  Symbol.for("react.forward_ref"),
  Symbol.for("react.lazy"),
]);

/** Functions and classes, plus `memo`/`forwardRef`/`lazy` objects. Not contexts, not constants. */
export function isComponentLike(value: unknown): boolean {
  if (typeof value === "function") return true;
  if (value === null || typeof value !== "object") return false;
  const tag = (value as { $$typeof?: unknown }).$$typeof;
  return typeof tag === "symbol" && REACT_WRAPPER_TYPES.has(tag);
}

/** `Button.tsx` → `Button`; `Badge/index.tsx` → `Badge` (a folder's index is named after it). */
export function nameFromFile(file: string): string {
  const parts = file.split("/").filter(Boolean);
  const base = (parts.at(-1) ?? file).replace(/\.[^.]+$/, "");
  return base === "index" && parts.length > 1 ? parts[parts.length - 2] : base;
}

/** The components of one module: named exports starting with a capital letter, then the default
 * export (named after its file) unless it is one of those named exports again. */
export function componentsOf(file: string, module: Record<string, unknown>): ComponentEntry[] {
  const entries: ComponentEntry[] = [];
  const seen = new Set<unknown>();
  for (const [exportName, value] of Object.entries(module)) {
    if (exportName === "default" || !/^[A-Z]/.test(exportName) || !isComponentLike(value)) continue;
    seen.add(value);
    entries.push({ id: `${file}#${exportName}`, name: exportName, file, component: value });
  }
  const fallback = module.default;
  if (isComponentLike(fallback) && !seen.has(fallback)) {
    entries.push({ id: `${file}#default`, name: nameFromFile(file), file, component: fallback });
  }
  return entries;
}

type Outcome = { file: string; ok: true; module: Record<string, unknown> } | { file: string; ok: false; error: unknown };

async function importAll(loaders: Record<string, Loader>): Promise<Outcome[]> {
  return Promise.all(
    Object.keys(loaders)
      .sort()
      .map(async (key): Promise<Outcome> => {
        const file = key.replace(/^\//, "");
        try {
          return { file, ok: true, module: await loaders[key]() };
        } catch (error) {
          return { file, ok: false, error };
        }
      }),
  );
}

/** Imports every component and stories file (in parallel; a broken file breaks only itself). */
export async function discover(components: Record<string, Loader>, stories: Record<string, Loader> = {}): Promise<Discovered> {
  const [componentFiles, storyFiles] = await Promise.all([importAll(components), importAll(stories)]);
  const result: Discovered = { components: [], broken: [], storyModules: [] };
  for (const item of componentFiles) {
    if (item.ok) result.components.push(...componentsOf(item.file, item.module));
    else result.broken.push({ file: item.file, error: item.error });
  }
  for (const item of storyFiles) {
    if (item.ok) result.storyModules.push({ file: item.file, module: item.module });
    else result.broken.push({ file: item.file, error: item.error });
  }
  return result;
}

const directoryOf = (file: string) => file.slice(0, file.lastIndexOf("/") + 1);

/** Gives each component the stories whose meta names it (the same module export, else the same
 * name in the same directory). A stories file whose component is not one of the discovered ones
 * gets a card of its own; one without stories left (all excluded) changes nothing. */
export function attachStories(components: ComponentEntry[], files: StoriesFile[]): ComponentEntry[] {
  const result = [...components];
  let added = false;
  for (const stories of files) {
    if (stories.stories.length === 0) continue;
    const metaName = (stories.component as { displayName?: unknown; name?: unknown } | null)?.displayName ??
      (stories.component as { name?: unknown } | null)?.name;
    let index = stories.component ? result.findIndex((entry) => entry.component === stories.component) : -1;
    if (index === -1) {
      index = result.findIndex(
        (entry) =>
          (entry.name === metaName || entry.name === stories.name) &&
          directoryOf(entry.file) === directoryOf(stories.file),
      );
    }
    if (index === -1) {
      result.push({ id: `${stories.file}#default`, name: stories.name, file: stories.file, component: stories.component, stories: stories.stories });
      added = true;
    } else {
      const entry = result[index];
      result[index] = { ...entry, stories: [...(entry.stories ?? []), ...stories.stories] };
    }
  }
  return added ? result.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0)) : result;
}
