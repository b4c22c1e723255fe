// Storybook stories without Storybook: a small evaluator of Component Story Format files (CSF 3
// object stories and CSF 2 function stories). A repository that depends on `@storybook/react` gets
// Storybook's own `composeStories` instead (`portable.ts`), with the same result shape; this
// evaluator is the fallback, and reads no Storybook package.
//
// A stories file with a default export (its meta) becomes one story per story export, in
// `__namedExportsOrder` when the file has one (Storybook's own compiler adds it), else in the
// module's export order (alphabetical). Per story: args are `preview.args` ← `meta.args` ←
// `story.args`; it renders with `story.render ?? meta.render ?? preview.render`, else as
// `<meta.component {...args} />`; decorators apply story → meta → preview (the first is the
// innermost); loaders run before it renders (`context.loaded`); `parameters` are merged shallowly.
// `includeStories` / `excludeStories` (names or a RegExp) and the `!dev` tag leave stories out;
// `play` functions are never run. Left to composeStories: globals, `beforeEach`, Storybook's hooks
// (`storybook/preview-api`), CSF factories.

import { createElement, type ReactNode } from "react";

type Dict = Record<string, unknown>;

export interface StoryContext {
  id: string;
  name: string;
  title: string;
  story: string;
  args: Dict;
  initialArgs: Dict;
  argTypes: Dict;
  globals: Dict;
  parameters: Dict;
  loaded: Dict;
  tags: string[];
  viewMode: "story";
  component: unknown;
}

type StoryFn = (update?: Partial<StoryContext>) => ReactNode;
type Decorator = (story: StoryFn, context: StoryContext) => ReactNode;
type RenderFn = (args: Dict, context: StoryContext) => ReactNode;
type LoaderFn = (context: StoryContext) => unknown;
type Matcher = string[] | RegExp;

/** What meta, a story and the preview may say (the parts this evaluator uses). */
interface Annotations {
  args?: Dict;
  argTypes?: Dict;
  parameters?: Dict;
  decorators?: Decorator | Decorator[];
  loaders?: LoaderFn | LoaderFn[];
  render?: RenderFn;
  tags?: string[];
  name?: string;
  storyName?: string;
  component?: unknown;
  title?: string;
  includeStories?: Matcher;
  excludeStories?: Matcher;
}

export interface Story {
  /** `<file>#<export>`. */
  id: string;
  exportName: string;
  /** As Storybook titles it: the story's `name`, else its export name in start case. */
  title: string;
  /** Renders the story with its decorators; called while a component renders. */
  show: () => ReactNode;
  /** A loader that failed: the story's tile shows it. */
  error: unknown;
}

export interface StoriesFile {
  file: string;
  /** `meta.component`, if any. */
  component: unknown;
  /** The name of the card the stories go to when `component` is not a discovered component. */
  name: string;
  stories: Story[];
}

/** Storybook's story name of an export: `PrimaryLarge` → "Primary Large", `with_icon2` → "With Icon 2". */
export function startCase(name: string): string {
  return name
    .replace(/([a-z\d])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .replace(/([a-zA-Z])(\d)/g, "$1 $2")
    .split(/[\s_\-]+/)
    .filter(Boolean)
    .map((word) => word[0].toUpperCase() + word.slice(1))
    .join(" ");
}

function matches(name: string, matcher: Matcher): boolean {
  if (Array.isArray(matcher)) return matcher.includes(name);
  if (matcher instanceof RegExp) {
    matcher.lastIndex = 0;
    return matcher.test(name);
  }
  return false;
}

/** Storybook's `isExportStory`. */
function isStoryExport(name: string, meta: Annotations): boolean {
  if (name === "default" || name.startsWith("__")) return false;
  if (meta.includeStories && !matches(name, meta.includeStories)) return false;
  return !(meta.excludeStories && matches(name, meta.excludeStories));
}

const list = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** A CSF 2 story is its render function, with annotations as properties (and the old `story`). */
export function annotationsOf(value: unknown): Annotations | null {
  if (typeof value === "function") {
    const fn = value as RenderFn & Annotations & { story?: Annotations };
    return { ...fn.story, ...fn, render: fn, name: fn.storyName ?? fn.story?.name };
  }
  if (value !== null && typeof value === "object") return value as Annotations;
  return null;
}

/** Storybook's tag rule: stories are in `dev` unless a `!dev` (not re-added later) removes it. */
function inDev(tagLists: Array<string[] | undefined>): boolean {
  let dev = true;
  for (const tag of tagLists.flatMap((tags) => tags ?? [])) {
    if (tag === "!dev") dev = false;
    else if (tag === "dev") dev = true;
  }
  return dev;
}

function RenderStory({ render, context }: { render: RenderFn; context: StoryContext }): ReactNode {
  return render(context.args, context) ?? null;
}

const isEmpty = (update: object | undefined) => !update || Object.keys(update).length === 0;

function merged(context: StoryContext, update: Partial<StoryContext>): StoryContext {
  return { ...context, ...update, args: { ...context.args, ...update.args } };
}

/** The story function each decorator gets: callable as `Story()` or as `<Story />`, stable per
 * context (so a re-rendering decorator does not remount the story). */
function decorate(render: RenderFn, decorators: Decorator[], context: StoryContext): () => ReactNode {
  let step = (ctx: StoryContext): ReactNode => createElement(RenderStory, { render, context: ctx });
  for (const decorator of decorators) {
    const inner = step;
    const bound = new WeakMap<StoryContext, StoryFn>();
    step = (ctx) => {
      let story = bound.get(ctx);
      if (!story) {
        story = (update) => inner(isEmpty(update) ? ctx : merged(ctx, update ?? {}));
        bound.set(ctx, story);
      }
      return decorator(story, ctx);
    };
  }
  return () => step(context);
}

/** The preview's annotations: its default export, or (older style) its named exports. */
export function previewAnnotations(module: Dict | null): Annotations {
  if (!module) return {};
  const fallback = module.default;
  return { ...module, ...(fallback !== null && typeof fallback === "object" ? (fallback as Annotations) : {}) };
}

/** `src/Button/Button.stories.tsx` → `Button`. */
export function nameOfStoriesFile(file: string, meta: { title?: unknown }): string {
  const titled = typeof meta.title === "string" ? meta.title.split("/").at(-1)?.trim() : "";
  if (titled) return titled;
  return (file.split("/").at(-1) ?? file).replace(/\.stories\.[^.]+$/, "");
}

/** Storybook's name of a story: its `name` (`storyName` in CSF 2), else its export name in start case. */
export function storyTitle(story: Annotations, exportName: string): string {
  return story.name ?? story.storyName ?? startCase(exportName);
}

/** The stories of one stories file, loaders run; `null` without a default export (no meta). */
export async function storiesOf(file: string, module: Dict, preview: Annotations): Promise<StoriesFile | null> {
  const meta = module.default;
  if (meta === null || typeof meta !== "object") return null;
  const metaAnnotations = meta as Annotations;
  const order = Array.isArray(module.__namedExportsOrder) ? (module.__namedExportsOrder as string[]) : Object.keys(module);
  const name = nameOfStoriesFile(file, metaAnnotations);
  const stories = await Promise.all(
    order
      .filter((exportName) => exportName in module && isStoryExport(exportName, metaAnnotations))
      .map(async (exportName): Promise<Story | null> => {
        const story = annotationsOf(module[exportName]);
        if (!story) return null;
        const levels = [preview, metaAnnotations, story];
        if (!inDev(levels.map((level) => level.tags))) return null;
        const title = storyTitle(story, exportName);
        const args = Object.assign({}, ...levels.map((level) => level.args));
        const context: StoryContext = {
          id: `${file}#${exportName}`,
          name: title,
          title: metaAnnotations.title ?? name,
          story: title,
          args,
          initialArgs: { ...args },
          argTypes: Object.assign({}, ...levels.map((level) => level.argTypes)),
          globals: {},
          parameters: Object.assign({}, ...levels.map((level) => level.parameters)),
          loaded: {},
          tags: levels.flatMap((level) => level.tags ?? []),
          viewMode: "story",
          component: metaAnnotations.component,
        };
        let error: unknown = null;
        try {
          const results = await Promise.all(levels.flatMap((level) => list(level.loaders)).map((loader) => loader(context)));
          context.loaded = Object.assign({}, ...results.filter((result) => result !== null && typeof result === "object"));
        } catch (failure) {
          error = failure;
        }
        const component = metaAnnotations.component;
        const render: RenderFn =
          story.render ??
          metaAnnotations.render ??
          preview.render ??
          ((storyArgs) => {
            if (!component) throw new Error(`${file}: the story "${exportName}" has no render function and its meta no component`);
            return createElement(component as Parameters<typeof createElement>[0], storyArgs);
          });
        const decorators = [story, metaAnnotations, preview].flatMap((level) => list(level.decorators));
        return { id: context.id, exportName, title, show: decorate(render, decorators, context), error };
      }),
  );
  return { file, component: metaAnnotations.component, name, stories: stories.filter((story): story is Story => story !== null) };
}
