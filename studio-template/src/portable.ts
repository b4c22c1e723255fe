// Stories through Storybook's own portable-stories API (`composeStories` of `@storybook/react`),
// used when the repository depends on `@storybook/react` (see `Snapshot.portable`): args, globals,
// decorators, loaders and `beforeEach` then behave as in the repository's Storybook. (Not
// `argTypes` `mapping` and conditional args: `<Composed />` renders with the unmapped args, as
// portable stories do in Storybook 10.) The result has the evaluator's shape (`StoriesFile`), so
// the page treats both alike.
//
// Nothing of Storybook is imported here (the template has no Storybook, and its types must check
// without one): the API arrives as a module object, checked for the two functions used.

import { createElement, type ReactNode } from "react";
import { annotationsOf, nameOfStoriesFile, storyTitle, type StoriesFile, type Story } from "./stories.ts";

type Dict = Record<string, unknown>;

/** What `composeStories` returns per story (the parts Studio uses). */
interface ComposedStory {
  (extraArgs?: Dict): ReactNode;
  /** Project ← meta ← story tags, Storybook's defaults (`dev`, `test`) and `!tag` removals applied. */
  tags: string[];
  /** Runs the loaders and `beforeEach` hooks; the next render gets `context.loaded`. */
  load(): Promise<void>;
}

export interface PortableStories {
  setProjectAnnotations(annotations: Dict | Dict[]): unknown;
  composeStories(module: Dict): Record<string, ComposedStory>;
}

export function isPortableStories(module: Dict): module is Dict & PortableStories {
  return typeof module.composeStories === "function" && typeof module.setProjectAnnotations === "function";
}

let annotated: { api: PortableStories; preview: Dict | null } | null = null;

/** Makes `preview` (the `.storybook/preview.*` module, or none) the project annotations every
 * composed story gets. They are a global of Storybook's, so this runs again only when the API or
 * the preview module changes (a hot update imports a new module object). */
export function applyProjectAnnotations(api: PortableStories, preview: Dict | null): void {
  if (annotated?.api === api && annotated.preview === preview) return;
  // The module itself: Storybook reads each annotation from its default export or its named ones.
  api.setProjectAnnotations(preview ?? {});
  annotated = { api, preview };
}

/** The stories of one stories file, loaders and `beforeEach` run; `null` without a default export
 * (no meta). `play` functions are never run. */
export async function composedStoriesOf(file: string, module: Dict, api: PortableStories): Promise<StoriesFile | null> {
  const meta = module.default;
  if (meta === null || typeof meta !== "object") return null;
  const name = nameOfStoriesFile(file, meta);
  // A copy: `composeStory` writes a placeholder title into a meta without one, and the module's
  // exports outlive this snapshot. The evaluator's title (the file's name) stands in instead.
  const title = (meta as { title?: unknown }).title ?? name;
  const composed = api.composeStories({ ...module, default: { ...meta, title } });
  // `composeStories` lists stories in the module's (alphabetical) key order; Storybook's compiler
  // records the source order in `__namedExportsOrder`.
  const order = Array.isArray(module.__namedExportsOrder) ? (module.__namedExportsOrder as string[]) : Object.keys(composed);
  const stories = await Promise.all(
    order
      .filter((exportName) => Object.hasOwn(composed, exportName))
      .map(async (exportName): Promise<Story | null> => {
        const Composed = composed[exportName];
        // composeStories does not filter by tag; Storybook's sidebar leaves `!dev` stories out.
        if (!Composed.tags.includes("dev")) return null;
        let error: unknown = null;
        try {
          await Composed.load();
        } catch (failure) {
          error = failure;
        }
        return {
          id: `${file}#${exportName}`,
          exportName,
          // Composed stories carry only their export name (`storyName`); Storybook's sidebar
          // shows the story's `name`, else the export name in start case.
          title: storyTitle(annotationsOf(module[exportName]) ?? {}, exportName),
          show: () => createElement(Composed),
          error,
        };
      }),
  );
  return { file, component: (meta as { component?: unknown }).component, name, stories: stories.filter((story) => story !== null) };
}
