// The renderer's diagnosis of a file that fails to build (`diagnose.mjs`): the browser only learns
// that an import failed, and Vite's `vite:error` lacks the location of some errors (the parser's).

import { locate } from "./locate.ts";
import { errorMessage, MESSAGE_LIMIT } from "./report.ts";

const DIAGNOSE_PATH = "/@studio/diagnose";

export interface BuildFailure {
  /** Repository-relative. */
  file: string;
  line?: number;
  message: string;
}

interface Answer {
  ok?: unknown;
  message?: unknown;
  file?: unknown;
  line?: unknown;
}

/** Why `file` (repository-relative) fails to build; null if it builds, or the renderer cannot say. */
export async function diagnose(file: string): Promise<BuildFailure | null> {
  const outcome = await diagnosis(file);
  return outcome === "builds" ? null : outcome;
}

/** Like {@link diagnose}, telling "it builds (now)" apart from "no answer". */
export async function diagnosis(file: string): Promise<BuildFailure | "builds" | null> {
  try {
    const answer = await fetch(`${DIAGNOSE_PATH}?path=${encodeURIComponent(file)}`, { cache: "no-store" });
    const body = (await answer.json()) as Answer;
    if (answer.ok && body.ok === true) return "builds";
    if (!answer.ok || body.ok !== false) return null;
    const line = body.line;
    return {
      file: typeof body.file === "string" && body.file ? body.file : file,
      ...(typeof line === "number" && Number.isInteger(line) && line > 0 ? { line } : {}),
      message: typeof body.message === "string" && body.message ? body.message : "build error",
    };
  } catch {
    return null; // no answer (the renderer restarts?): the caller keeps what it knows
  }
}

/** Why `file` failed to import with `error`: its build error, else where its code threw while it
 * ran (it builds, but throws at the top level or imports a file that does not). Null when it
 * imports now: the failure was of a version saved over meanwhile (another page, or this one
 * behind a burst of saves), and reporting it would flip the tile to an error that is gone. */
export async function failureOf(file: string, error: unknown): Promise<BuildFailure | null> {
  const outcome = await diagnosis(file);
  if (outcome !== null && outcome !== "builds") {
    return { ...outcome, message: outcome.message.slice(0, MESSAGE_LIMIT) };
  }
  if (outcome === "builds") {
    try {
      // A fresh instance (its own `t`), so the browser does not answer with the failed one.
      await import(/* @vite-ignore */ `/${file}?t=${Date.now()}`);
      return null;
    } catch (again) {
      error = again;
    }
  }
  return { ...(await locate(error, file)), message: errorMessage(error) };
}

/** Whether `failure` is in `file` (repository-relative; a failure may name an absolute path). */
export function isIn(failure: { file: string | null }, file: string): boolean {
  return failure.file !== null && (failure.file === file || failure.file.endsWith(`/${file}`));
}
