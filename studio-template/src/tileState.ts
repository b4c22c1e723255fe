// One tile's state, from its error boundary and from failures of its files, shown on the tile and
// reported (report.ts).

import { useEffect, useRef, useState } from "react";
import { failureOf, isIn, type BuildFailure } from "./diagnosis.ts";
import { nameFromFile, type BrokenFile } from "./discover.ts";
import { locate } from "./locate.ts";
import { errorMessage, publishState, type ComponentState } from "./report.ts";

export interface TileIdentity {
  /** Unique on the page (a component's or a story's id). */
  owner: string;
  component: string;
  story?: string;
  /** The file the tile reports: the stories file of a story, else the component file. */
  file: string;
  /** Every file whose failure breaks the tile (a story's component file and stories file). */
  files: string[];
}

/** A failure of a file, as a build error names it (possibly absolute, or no file at all). */
export type FileFailure = Omit<BuildFailure, "file"> & { file: string | null };

/** An outcome of one version of the content: the newest version's wins. */
type Outcome = { version: number; state: ComponentState };

/** The DOM marks of a state (for tests and for people reading the page). */
export function stateAttributes(state: ComponentState | null): Record<string, string | undefined> {
  return {
    "data-studio-state": state?.state,
    "data-studio-error-file": state?.state === "error" ? state.file : undefined,
    "data-studio-error-line": state?.line === undefined ? undefined : String(state.line),
  };
}

/** Publishes `state` for `owner` while it is shown, and withdraws it when the tile goes away. */
function usePublished(owner: string, state: ComponentState | null): void {
  const json = state && JSON.stringify(state);
  useEffect(() => {
    publishState(owner, json ? (JSON.parse(json) as ComponentState) : null);
  }, [owner, json]);
  useEffect(() => () => publishState(owner, null), [owner]);
}

function stateOf(tile: Omit<TileIdentity, "owner" | "files" | "file">, rest: Omit<ComponentState, "component" | "story">): ComponentState {
  return { component: tile.component, ...(tile.story === undefined ? {} : { story: tile.story }), ...rest };
}

/** The state of a tile whose content `version` of the snapshot renders, and the callbacks for its
 * error boundary. A failure of one of its files (a build error, or a file that stopped importing
 * while the tile shows its last good version) overrides what the boundary saw, until it is gone. */
export function useTileState(tile: TileIdentity, version: number, failures: FileFailure[]) {
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  // Locating an error is asynchronous: a newer version may have rendered meanwhile.
  const settle = (next: Outcome) =>
    setOutcome((previous) => (previous && previous.version > next.version ? previous : next));
  const onRendered = () => settle({ version, state: stateOf(tile, { state: "rendered", file: tile.file }) });
  const onError = (error: unknown) => {
    void locate(error, tile.file).then((where) =>
      settle({ version, state: stateOf(tile, { state: "error", ...where, message: errorMessage(error) }) }),
    );
  };
  let failed: ComponentState | null = null;
  for (const failure of failures) {
    const file = tile.files.find((candidate) => isIn(failure, candidate));
    if (file === undefined) continue;
    const { line, message } = failure;
    failed = stateOf(tile, { state: "error", file, ...(line === undefined ? {} : { line }), message });
    break;
  }
  const state = failed ?? outcome?.state ?? null;
  usePublished(tile.owner, state);
  return { state, onRendered, onError };
}

/** The failures of files the page shows in their last good version (each diagnosed once). */
export function useStaleFailures(stale: Map<string, BrokenFile>): FileFailure[] {
  // null while the diagnosis is under way.
  const known = useRef(new WeakMap<BrokenFile, BuildFailure | null>());
  const [, setDiagnosed] = useState(0);
  useEffect(() => {
    for (const broken of stale.values()) {
      if (known.current.has(broken)) continue;
      known.current.set(broken, null);
      void failureOf(broken.file, broken.error).then((failure) => {
        known.current.set(broken, failure);
        setDiagnosed((count) => count + 1);
      });
    }
  }, [stale]);
  return [...stale.values()].flatMap((broken) => {
    const failure = known.current.get(broken);
    if (!failure) return [];
    // Tiles match the stale file; a line elsewhere (in a file it imports) would mislead there.
    return [failure.file === broken.file ? failure : { file: broken.file, message: failure.message }];
  });
}

/** The state of a file that failed to import (one state, named as its component would be). */
export function useBrokenFileState(file: string, error: unknown): ComponentState | null {
  const [state, setState] = useState<ComponentState | null>(null);
  useEffect(() => {
    let current = true;
    void failureOf(file, error).then((failure) => {
      if (!current) return;
      setState(failure && { component: nameFromFile(file).replace(/\.stories$/, ""), state: "error", ...failure });
    });
    return () => {
      current = false;
    };
  }, [file, error]);
  usePublished(`broken:${file}`, state);
  return state;
}
