// Which exports of a component file are components, and what they are called.

import type { Snapshot } from "./registry.ts";

export interface ComponentEntry {
  /** Unique on the page: `<file>#<export>`. */
  id: string;
  name: string;
  /** Repository-relative path, e.g. `src/components/Button/Button.tsx`. */
  file: string;
  component: unknown;
}

/** A file that could not be imported: it is shown in place, as an error card. */
export interface BrokenFile {
  file: string;
  error: unknown;
}

export interface Discovered {
  components: ComponentEntry[];
  broken: BrokenFile[];
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

/** Imports every component file of the snapshot (in parallel; a broken file breaks only itself). */
export async function discover(components: Snapshot["components"]): Promise<Discovered> {
  const files = Object.keys(components).sort();
  type Outcome = { file: string; ok: true; module: Record<string, unknown> } | { file: string; ok: false; error: unknown };
  const loaded = await Promise.all(
    files.map(async (key): Promise<Outcome> => {
      const file = key.replace(/^\//, "");
      try {
        return { file, ok: true, module: await components[key]() };
      } catch (error) {
        return { file, ok: false, error };
      }
    }),
  );
  const result: Discovered = { components: [], broken: [] };
  for (const item of loaded) {
    if (item.ok) result.components.push(...componentsOf(item.file, item.module));
    else result.broken.push({ file: item.file, error: item.error });
  }
  return result;
}
