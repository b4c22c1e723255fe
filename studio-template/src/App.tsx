import { useEffect, useRef, useState, type ComponentType, type ReactNode } from "react";
import { discover, isComponentLike, type BrokenFile, type ComponentEntry } from "./discover.ts";
import { ErrorBoundary, ErrorPanel } from "./ErrorBoundary.tsx";
import { subscribe, type Snapshot } from "./registry.ts";
import { connectStudioSocket, type StudioSocket } from "./socket.ts";
import { useBuildError } from "./buildError.ts";

type Wrapper = ComponentType<{ children?: ReactNode }>;

interface Loaded {
  /** Grows with every snapshot; part of each card's key, so updated components remount cleanly. */
  version: number;
  snapshot: Snapshot;
  components: ComponentEntry[];
  broken: BrokenFile[];
  /** Setup modules or a wrapper that failed: shown at the top, the components still render. */
  problems: Array<{ title: string; error: unknown }>;
  Wrapper: Wrapper | null;
}

/** Runs the setup modules in order, then resolves the wrapper and imports every component. */
async function load(snapshot: Snapshot, version: number): Promise<Loaded> {
  const problems: Loaded["problems"] = [];
  for (const [path, loadSetup] of snapshot.setup) {
    try {
      await loadSetup();
    } catch (error) {
      problems.push({ title: `Setup module ${path} failed`, error });
    }
  }
  let Wrapper: Wrapper | null = null;
  if (snapshot.wrapper) {
    const { path, exportName } = snapshot.wrapper;
    try {
      const candidate = (await snapshot.wrapper.load())[exportName];
      if (isComponentLike(candidate)) Wrapper = candidate as Wrapper;
      else problems.push({ title: `Wrapper ${path}#${exportName}`, error: `${path} has no component export "${exportName}"` });
    } catch (error) {
      problems.push({ title: `Wrapper ${path}#${exportName} failed`, error });
    }
  }
  const { components, broken } = await discover(snapshot.components);
  return { version, snapshot, components, broken, problems, Wrapper };
}

export function App() {
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const socket = useRef<StudioSocket | null>(null);
  const buildError = useBuildError();
  const only = new URLSearchParams(location.search).get("component");

  useEffect(() => {
    let latest = 0;
    return subscribe((snapshot) => {
      const version = ++latest;
      void load(snapshot, version).then((next) => {
        if (version === latest) setLoaded(next); // a newer snapshot is already on its way
      });
    });
  }, []);

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

  const visible = loaded ? loaded.components.filter((entry) => !only || entry.name === only) : [];
  const broken = loaded && !only ? loaded.broken : [];

  // Mark the page ready for probes and tests once this version is on screen.
  useEffect(() => {
    if (!loaded) return;
    const root = document.documentElement;
    root.dataset.studioReady = String(visible.length);
    root.dataset.studioVersion = String(loaded.version);
    window.__studioRenderedAt ??= performance.timeOrigin + performance.now();
  }, [loaded, visible.length]);

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
        </span>
      </header>
      {buildError && <ErrorPanel error={buildError} title="Build error (the page shows the last good version)" />}
      {loaded.problems.map((problem) => (
        <ErrorPanel key={problem.title} error={problem.error} title={problem.title} />
      ))}
      {only && visible.length === 0 && <p className="studio-empty">No component named {only}.</p>}
      {!only && visible.length === 0 && broken.length === 0 && (
        <p className="studio-empty">No components match this sandbox's component globs.</p>
      )}
      {visible.map((entry) => {
        const Component = entry.component as ComponentType;
        const element = Wrapper ? (
          <Wrapper>
            <Component />
          </Wrapper>
        ) : (
          <Component />
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
            <div className="studio-card__stage">
              <ErrorBoundary key={version}>{element}</ErrorBoundary>
            </div>
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
