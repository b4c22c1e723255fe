import { useEffect, useRef, useState, useSyncExternalStore, type ComponentType, type ReactNode } from "react";
import { useBuildError } from "./buildError.ts";
import { ErrorBoundary, ErrorPanel } from "./ErrorBoundary.tsx";
import { getLoaded, subscribeLoaded } from "./loader.ts";
import { connectStudioSocket, type StudioSocket } from "./socket.ts";
import type { Story } from "./stories.ts";

/** One story, decorators included; a failed loader fails it inside its own tile. */
function StoryView({ story }: { story: Story }) {
  if (story.error) throw story.error;
  return <>{story.show()}</>;
}

export function App() {
  const loaded = useSyncExternalStore(subscribeLoaded, getLoaded);
  const [selected, setSelected] = useState<string | null>(null);
  const socket = useRef<StudioSocket | null>(null);
  const buildError = useBuildError();
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
    });
    socket.current = connection;
    return () => connection.close();
  }, [socketUrl, sandboxId]);

  const visible = loaded
    ? loaded.components.filter(
        (entry) =>
          (!only || entry.name === only) &&
          (!onlyStory || entry.stories?.some((story) => story.exportName === onlyStory)),
      )
    : [];
  const broken = loaded && !only && !onlyStory ? loaded.broken : [];
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
      {buildError && <ErrorPanel error={buildError} title="Build error (the page shows the last good version)" />}
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
      {visible.map((entry) => {
        const wrap = (content: ReactNode) => (Wrapper ? <Wrapper>{content}</Wrapper> : content);
        const Component = entry.component as ComponentType;
        // A component with stories shows them, one tile each; without, it renders bare.
        const stage = entry.stories ? (
          entry.stories
            .filter((story) => !onlyStory || story.exportName === onlyStory)
            .map((story) => (
              <div key={story.id} className="studio-story" data-studio-story={story.exportName} data-studio-story-title={story.title}>
                <div className="studio-story__label">
                  {entry.name} · {story.title}
                </div>
                <div className="studio-card__stage">
                  <ErrorBoundary key={version}>{wrap(<StoryView story={story} />)}</ErrorBoundary>
                </div>
              </div>
            ))
        ) : (
          <div className="studio-card__stage">
            <ErrorBoundary key={version}>{wrap(<Component />)}</ErrorBoundary>
          </div>
        );
        return (
          <section
            key={entry.id}
            className={entry.name === selected ? "studio-card studio-card--selected" : "studio-card"}
            data-studio-component={entry.name}
            data-studio-file={entry.file}
            data-studio-selected={entry.name === selected ? "" : undefined}
          >
            <header className="studio-card__label" onClick={() => socket.current?.select(entry.name)}>
              <span className="studio-card__name">{entry.name}</span>
              <span className="studio-card__file">{entry.file}</span>
            </header>
            {stage}
          </section>
        );
      })}
      {broken.map((file) => (
        <section key={file.file} className="studio-card studio-card--broken" data-studio-broken-file={file.file}>
          <header className="studio-card__label">
            <span className="studio-card__name">{file.file}</span>
          </header>
          <ErrorPanel error={file.error} title="This file failed to load" />
        </section>
      ))}
    </main>
  );
}
