import { useEffect, useState } from "react";

/** The last build error Vite reported (a syntax error in a saved file), until the next update.
 * Vite's own overlay is off: it would cover every component, not just the broken one. */
export function useBuildError(): string | null {
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const hot = import.meta.hot;
    if (!hot) return;
    const onError = (payload: { err?: { message?: string; id?: string } }) =>
      setError([payload.err?.id, payload.err?.message].filter(Boolean).join(": ") || "unknown build error");
    const onUpdate = () => setError(null);
    hot.on("vite:error", onError);
    hot.on("vite:afterUpdate", onUpdate);
    return () => {
      hot.off("vite:error", onError);
      hot.off("vite:afterUpdate", onUpdate);
    };
  }, []);
  return error;
}
