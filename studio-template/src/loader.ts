// Turns each published snapshot into what the page shows: setup modules run (in order, before any
// component), then the wrapper, Storybook's preview (and `@storybook/react`, when the repository
// depends on it) and every component and stories file are imported in parallel; the stories are
// composed by Storybook's `composeStories`, else evaluated by Studio's own evaluator (loaders run
// either way), and given to their components.
//
// Loading starts as soon as `generated.js` publishes, not when React mounts, and a newer snapshot
// supersedes an older one still loading (hot updates can arrive in bursts).

import type { ComponentType, ReactNode } from "react";
import { attachStories, discover, isComponentLike, type BrokenFile, type ComponentEntry } from "./discover.ts";
import { subscribe, type Snapshot } from "./registry.ts";
import { applyProjectAnnotations, composedStoriesOf, isPortableStories, type PortableStories } from "./portable.ts";
import { previewAnnotations, storiesOf } from "./stories.ts";

export type Wrapper = ComponentType<{ children?: ReactNode }>;

export interface Loaded {
  /** Grows with every snapshot; part of each card's key, so updated components remount cleanly. */
  version: number;
  snapshot: Snapshot;
  components: ComponentEntry[];
  broken: BrokenFile[];
  /** Setup modules or a wrapper that failed: shown at the top, the components still render. */
  problems: Array<{ title: string; error: unknown }>;
  Wrapper: Wrapper | null;
}

async function loadWrapper(snapshot: Snapshot, problems: Loaded["problems"]): Promise<Wrapper | null> {
  if (!snapshot.wrapper) return null;
  const { path, exportName } = snapshot.wrapper;
  try {
    const candidate = (await snapshot.wrapper.load())[exportName];
    if (isComponentLike(candidate)) return candidate as Wrapper;
    problems.push({ title: `Wrapper ${path}#${exportName}`, error: `${path} has no component export "${exportName}"` });
  } catch (error) {
    problems.push({ title: `Wrapper ${path}#${exportName} failed`, error });
  }
  return null;
}

async function loadPreview(snapshot: Snapshot, problems: Loaded["problems"]): Promise<Record<string, unknown> | null> {
  if (!snapshot.preview) return null;
  try {
    return await snapshot.preview.load();
  } catch (error) {
    problems.push({ title: `Storybook preview ${snapshot.preview.path} failed`, error });
    return null;
  }
}

/** The repository's `@storybook/react`, if it has one and the page has stories to compose. If it
 * fails to load, the evaluator renders the stories and the reason shows at the top of the page. */
async function loadPortable(snapshot: Snapshot, problems: Loaded["problems"]): Promise<PortableStories | null> {
  if (!snapshot.portable || Object.keys(snapshot.stories).length === 0) return null;
  try {
    const api = await snapshot.portable();
    if (isPortableStories(api)) return api;
    throw new Error("it exports no composeStories/setProjectAnnotations (Storybook 7 and later do)");
  } catch (error) {
    problems.push({ title: PORTABLE_UNUSED, error });
    return null;
  }
}

const PORTABLE_UNUSED = "Storybook's composeStories (@storybook/react) is not used: Studio's evaluator renders the stories";

/** `api` with the preview module as its project annotations, or null if Storybook rejects them. */
function withPreview(api: PortableStories | null, previewModule: Record<string, unknown> | null, problems: Loaded["problems"]): PortableStories | null {
  if (!api) return null;
  try {
    applyProjectAnnotations(api, previewModule);
    return api;
  } catch (error) {
    problems.push({ title: PORTABLE_UNUSED, error });
    return null;
  }
}

const preloaded = new Set<string>();

/** Lets the browser fetch the wrapper and component files while the setup modules load (the
 * glob's keys are the URLs its imports use). Fetching is not running: order is kept. */
function preload(snapshot: Snapshot): void {
  const urls = [...Object.keys(snapshot.components), ...Object.keys(snapshot.stories)];
  if (snapshot.wrapper) urls.push(`/${snapshot.wrapper.path}`);
  if (snapshot.preview) urls.push(`/${snapshot.preview.path}`);
  for (const url of urls) {
    if (preloaded.has(url)) continue;
    preloaded.add(url);
    const link = document.createElement("link");
    link.rel = "modulepreload";
    link.href = url;
    document.head.append(link);
  }
}

async function load(snapshot: Snapshot, version: number): Promise<Loaded> {
  const problems: Loaded["problems"] = [];
  preload(snapshot);
  // Sequential on purpose: a global stylesheet must come before the components' own CSS.
  for (const [path, loadSetup] of snapshot.setup) {
    try {
      await loadSetup();
    } catch (error) {
      problems.push({ title: `Setup module ${path} failed`, error });
    }
  }
  const [Wrapper, previewModule, discovered, loadedPortable] = await Promise.all([
    loadWrapper(snapshot, problems),
    loadPreview(snapshot, problems),
    discover(snapshot.components, snapshot.stories),
    loadPortable(snapshot, problems),
  ]);
  const preview = previewAnnotations(previewModule);
  const portable = withPreview(loadedPortable, previewModule, problems);
  const storyFiles = await Promise.all(
    discovered.storyModules.map(({ file, module }) =>
      (portable ? composedStoriesOf(file, module, portable) : storiesOf(file, module, preview)).catch((error: unknown) => {
        discovered.broken.push({ file, error });
        return null;
      }),
    ),
  );
  const components = attachStories(
    discovered.components,
    storyFiles.filter((stories) => stories !== null),
  );
  return { version, snapshot, components, broken: discovered.broken, problems, Wrapper };
}

let latest = 0;
let loaded: Loaded | null = null;
const listeners = new Set<() => void>();

subscribe((snapshot) => {
  const version = ++latest;
  void load(snapshot, version).then((next) => {
    if (version !== latest) return; // a newer snapshot is already on its way
    loaded = next;
    for (const listener of listeners) listener();
  });
});

/** For `useSyncExternalStore`. */
export function subscribeLoaded(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function getLoaded(): Loaded | null {
  return loaded;
}
