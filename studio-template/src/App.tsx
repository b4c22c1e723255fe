import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { useBuildErrors } from "./buildError.ts";
import { BrokenFileCard, ComponentCard, type TileContext } from "./Cards.tsx";
import { ErrorPanel } from "./ErrorBoundary.tsx";
import { useLastGood } from "./lastGood.ts";
import { getLoaded, subscribeLoaded } from "./loader.ts";
import { attachSink, resendStates } from "./report.ts";
import { connectStudioSocket, type StudioSocket } from "./socket.ts";
import { useStaleFailures } from "./tileState.ts";

const NOTHING_STALE = new Map<string, never>();

export function App() {
  const loaded = useSyncExternalStore(subscribeLoaded, getLoaded);
  const [selected, setSelected] = useState<string | null>(null);
  const socket = useRef<StudioSocket | null>(null);
  const buildErrors = useBuildErrors();
  const shown = useLastGood(loaded);
  const staleFailures = useStaleFailures(shown?.stale ?? NOTHING_STALE);
  const query = new URLSearchParams(location.search);
  const only = query.get("component");
  const onlyStory = query.get("story");

  const socketUrl = loaded?.snapshot.socketUrl ?? null;
  const sandboxId = loaded?.snapshot.sandboxId ?? null;
  useEffect(() => {
    if (!socketUrl) return;
    const connection = connectStudioSocket(socketUrl, sandboxId, {
      onSelect: setSelected,
      onReload: () => location.reload(),
      onOpen: resendStates,
    });
    socket.current = connection;
    attachSink(connection);
    return () => {
      attachSink(null);
      connection.close();
    };
  }, [socketUrl, sandboxId]);

  const visible = shown
    ? shown.components.filter(
        (entry) =>
          (!only || entry.name === only) &&
          (!onlyStory || entry.stories?.some((story) => story.exportName === onlyStory)),
      )
    : [];
  const broken = shown && !only && !onlyStory ? shown.broken : [];
  const storiesShown = visible.reduce(
    (count, entry) => count + (entry.stories?.filter((story) => !onlyStory || story.exportName === onlyStory).length ?? 0),
    0,
  );

  // Mark the page ready for probes and tests once this version is on screen.
  useEffect(() => {
    if (!loaded) return;
    const root = document.documentElement;
    root.dataset.studioReady = String(visible.length);
    root.dataset.studioStories = String(storiesShown);
    root.dataset.studioVersion = String(loaded.version);
    window.__studioRenderedAt ??= performance.timeOrigin + performance.now();
  }, [loaded, visible.length, storiesShown]);

  useEffect(() => {
    if (!selected) return;
    document.querySelector(`[data-studio-component="${CSS.escape(selected)}"]`)?.scrollIntoView({ block: "center" });
  }, [selected, loaded]);

  if (!loaded) return <p className="studio-loading">Loading components…</p>;
  const { Wrapper, version } = loaded;
  const context: TileContext = {
    version,
    failures: [...buildErrors, ...staleFailures],
    wrap: (content) => (Wrapper ? <Wrapper>{content}</Wrapper> : content),
  };
  return (
    <main className="studio-page">
      <header className="studio-page__header">
        <strong>Studio</strong>
        <span>{loaded.snapshot.sandboxId ?? "local"}</span>
        <span>
          {visible.length} component{visible.length === 1 ? "" : "s"}
          {only ? ` named ${only}` : ""}
          {onlyStory ? ` with the story ${onlyStory}` : ""}
        </span>
      </header>
      {buildErrors.map((error) => (
        <ErrorPanel key={error.file ?? ""} error={error.text} title="Build error (the page shows the last good version)" />
      ))}
      {loaded.problems.map((problem) => (
        <ErrorPanel key={problem.title} error={problem.error} title={problem.title} />
      ))}
      {(only || onlyStory) && visible.length === 0 && (
        <p className="studio-empty">
          No component{only ? ` named ${only}` : ""}
          {onlyStory ? ` with a story ${onlyStory}` : ""}.
        </p>
      )}
      {!only && !onlyStory && visible.length === 0 && broken.length === 0 && (
        <p className="studio-empty">No components match this sandbox's component globs.</p>
      )}
      {visible.map((entry) => (
        <ComponentCard
          key={entry.id}
          entry={entry}
          context={context}
          onlyStory={onlyStory}
          selected={entry.name === selected}
          onSelect={() => socket.current?.select(entry.name)}
        />
      ))}
      {broken.map((file) => (
        <BrokenFileCard key={file.file} broken={file} />
      ))}
    </main>
  );
}
