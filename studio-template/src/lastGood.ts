// The page keeps the last good version of a file that stops importing while it is open (a broken
// save): its tiles stay, marked as failing, instead of turning into a broken-file card. The loader
// imports every file lazily, so to it a file that no longer builds is simply broken; Vite itself
// would have kept the old module of a statically imported one.

import { useState } from "react";
import type { BrokenFile, ComponentEntry } from "./discover.ts";
import type { Story } from "./stories.ts";

export interface Shown {
  components: ComponentEntry[];
  /** Files that failed to import and have no earlier version on the page: broken-file cards. */
  broken: BrokenFile[];
  /** Files that failed to import, shown in their last good version. */
  stale: Map<string, BrokenFile>;
}

/** The file of a story: its id is `<file>#<export>`. */
export const storiesFileOf = (story: Story) => story.id.slice(0, story.id.lastIndexOf("#"));

const filesOf = (entry: ComponentEntry) => [entry.file, ...(entry.stories ?? []).map(storiesFileOf)];

/** What to show of `next`, given what is on screen: files of `previous` that broke keep their
 * entries (a component file) or their stories (a stories file). */
export function keepLastGood(previous: Shown | null, next: { components: ComponentEntry[]; broken: BrokenFile[] }): Shown {
  const onScreen = new Set(previous?.components.flatMap(filesOf));
  const stale = new Map(next.broken.filter((file) => onScreen.has(file.file)).map((file) => [file.file, file]));
  if (!previous || stale.size === 0) return { components: next.components, broken: next.broken, stale };
  const before = new Map(previous.components.map((entry) => [entry.id, entry]));
  const components = next.components.map((entry) => {
    const kept = before.get(entry.id)?.stories?.filter((story) => stale.has(storiesFileOf(story))) ?? [];
    return kept.length === 0 ? entry : { ...entry, stories: [...(entry.stories ?? []), ...kept] };
  });
  const ids = new Set(components.map((entry) => entry.id));
  for (const entry of previous.components) {
    if (stale.has(entry.file) && !ids.has(entry.id)) components.push(entry);
  }
  // The loader's order (by file; stable, so a file's components keep theirs).
  components.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return { components, broken: next.broken.filter((file) => !stale.has(file.file)), stale };
}

/** `keepLastGood` over the versions the page receives. */
export function useLastGood(loaded: { components: ComponentEntry[]; broken: BrokenFile[] } | null): Shown | null {
  const [memo, setMemo] = useState<{ loaded: typeof loaded; shown: Shown | null }>({ loaded: null, shown: null });
  if (memo.loaded === loaded) return memo.shown;
  // Derived from the previous render's result: React's pattern for state that follows a prop.
  const shown = loaded && keepLastGood(memo.shown, loaded);
  setMemo({ loaded, shown });
  return shown;
}
