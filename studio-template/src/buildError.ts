import { useEffect, useState } from "react";
import { diagnosis, type BuildFailure } from "./diagnosis.ts";
import { getLoaded } from "./loader.ts";
import { MESSAGE_LIMIT } from "./report.ts";

/** A file that failed to build (Vite's `vite:error`). */
export interface BuildError extends Omit<BuildFailure, "file"> {
  /** The file, repository-relative when it is one the page imports, else as Vite names it
   * (absolute); null when Vite names none. */
  file: string | null;
  /** What the banner shows: the file and Vite's message. */
  text: string;
}

interface ViteError {
  message?: string;
  id?: string;
  loc?: { file?: string; line?: number; column?: number };
}

/** The repository-relative path of an absolute file the page imports (Vite's error names absolute
 * paths; the page knows its files relative to the root). The longest match wins. */
function repositoryFile(absolute: string): string | null {
  const snapshot = getLoaded()?.snapshot;
  if (!snapshot) return null;
  const files = [
    ...Object.keys(snapshot.components),
    ...Object.keys(snapshot.stories),
    ...snapshot.setup.map(([path]) => path),
    snapshot.wrapper?.path,
    snapshot.preview?.path,
  ]
    .filter((file): file is string => typeof file === "string")
    .map((file) => file.replace(/^\//, ""));
  const matches = files.filter((file) => absolute.endsWith(`/${file}`));
  return matches.sort((a, b) => b.length - a.length)[0] ?? null;
}

/** What the payload says, completed by the renderer's diagnosis when it lacks the line (Vite's
 * parser errors carry their location only inside the message text). Null when the file builds by
 * the time the renderer is asked: the error is stale (a fix was saved meanwhile), and reporting it
 * would flip the tile back to an error that no longer exists. */
async function describe(err: ViteError | undefined): Promise<BuildError | null> {
  const absolute = (err?.loc?.file ?? err?.id)?.replace(/[?#].*$/, "") ?? null;
  const file = absolute && (repositoryFile(absolute) ?? absolute);
  const text = [err?.id, err?.message].filter(Boolean).join(": ") || "unknown build error";
  const line = err?.loc?.line;
  if (typeof line === "number" && line > 0) {
    return { file, line, message: (err?.message ?? text).slice(0, MESSAGE_LIMIT), text };
  }
  const failure = file && file !== absolute ? await diagnosis(file) : null;
  if (failure === "builds") return null;
  if (failure) return { ...failure, message: failure.message.slice(0, MESSAGE_LIMIT), text };
  return { file, message: (err?.message ?? text).slice(0, MESSAGE_LIMIT), text };
}

/** The build errors Vite reported since the last update, one per file (a hot update re-imports
 * every file, and each that still fails reports again), oldest first. Vite's own overlay is off:
 * it would cover every component, not just the broken one. */
export function useBuildErrors(): BuildError[] {
  const [errors, setErrors] = useState<BuildError[]>([]);
  useEffect(() => {
    const hot = import.meta.hot;
    if (!hot) return;
    // Describing an error may wait for the renderer: an update meanwhile makes it moot.
    let updates = 0;
    const onError = (payload: { err?: ViteError }) => {
      const since = updates;
      void describe(payload.err).then((next) => {
        if (since !== updates || next === null) return;
        setErrors((current) => [...current.filter((error) => error.file !== next.file), next]);
      });
    };
    const onUpdate = () => {
      updates++;
      setErrors([]);
    };
    hot.on("vite:error", onError);
    hot.on("vite:afterUpdate", onUpdate);
    return () => {
      hot.off("vite:error", onError);
      hot.off("vite:afterUpdate", onUpdate);
    };
  }, []);
  return errors;
}
