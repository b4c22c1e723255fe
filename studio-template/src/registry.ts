// The hand-off between the generated module and the page.
//
// `generated.js` (written by Studio for each sandbox) calls `publish` every time it is evaluated: on
// page load and again on every hot update of a component, the wrapper or a setup module, because
// those are all imported by it and it accepts its own updates. The page subscribes here, so it
// never holds on to an outdated module.

/** Lazily imports one module; rejects if the module does not build or throws while loading. */
export type Loader = () => Promise<Record<string, unknown>>;

export interface Snapshot {
  sandboxId: string | null;
  /** Studio's WebSocket for this sandbox, or null when there is none (e.g. a local preview). */
  socketUrl: string | null;
  /** Repository paths imported in this order before any component, with their loaders. */
  setup: Array<[path: string, load: Loader]>;
  wrapper: { path: string; exportName: string; load: Loader } | null;
  /** Component files (root-relative, e.g. `/src/components/Button.tsx`) and their loaders. */
  components: Record<string, Loader>;
  /** Stories files (`*.stories.{tsx,jsx,ts,js}` in the component globs' directories). */
  stories: Record<string, Loader>;
  /** Storybook's `.storybook/preview.*` when the repository has one. */
  preview: { path: string; load: Loader } | null;
  /** Imports the repository's `@storybook/react` (Storybook's `composeStories`) when its
   * `package.json` declares it and it is installed; else null and Studio's evaluator renders. */
  portable: Loader | null;
}

type Listener = (snapshot: Snapshot) => void;

let current: Snapshot | null = null;
const listeners = new Set<Listener>();

export function publish(snapshot: Snapshot): void {
  current = snapshot;
  for (const listener of listeners) listener(snapshot);
}

/** Calls `listener` with the current snapshot (if any) and every later one. */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  if (current) listener(current);
  return () => listeners.delete(listener);
}
