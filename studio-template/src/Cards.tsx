// The cards of the page: a component's own tile, or its stories' tiles, and a broken file's card.
// Each tile renders in its own error boundary, keyed by the snapshot version (an update remounts
// it), and carries its state (`data-studio-state`, see tileState.ts).

import type { ComponentType, ReactNode } from "react";
import type { BrokenFile, ComponentEntry } from "./discover.ts";
import { ErrorBoundary, ErrorPanel } from "./ErrorBoundary.tsx";
import { storiesFileOf } from "./lastGood.ts";
import type { Story } from "./stories.ts";
import { stateAttributes, useBrokenFileState, useTileState, type FileFailure } from "./tileState.ts";

/** What every tile gets from the page. */
export interface TileContext {
  /** The snapshot version on screen. */
  version: number;
  /** Files that fail now: build errors, and files shown in their last good version. */
  failures: FileFailure[];
  /** Puts content into the repository's wrapper, if it has one. */
  wrap: (content: ReactNode) => ReactNode;
}

/** One story, decorators included; a failed loader fails it inside its own tile. */
function StoryView({ story }: { story: Story }) {
  if (story.error) throw story.error;
  return <>{story.show()}</>;
}

function StoryTile({ entry, story, context }: { entry: ComponentEntry; story: Story; context: TileContext }) {
  const file = storiesFileOf(story);
  const tile = { owner: story.id, component: entry.name, story: story.exportName, file, files: [entry.file, file] };
  const { state, onRendered, onError } = useTileState(tile, context.version, context.failures);
  return (
    <div className="studio-story" data-studio-story={story.exportName} data-studio-story-title={story.title} {...stateAttributes(state)}>
      <div className="studio-story__label">
        {entry.name} · {story.title}
      </div>
      <div className="studio-card__stage">
        <ErrorBoundary key={context.version} onRendered={onRendered} onError={onError}>
          {context.wrap(<StoryView story={story} />)}
        </ErrorBoundary>
      </div>
    </div>
  );
}

export interface CardProps {
  entry: ComponentEntry;
  context: TileContext;
  /** `?story=`: only this story's tile. */
  onlyStory: string | null;
  selected: boolean;
  onSelect: () => void;
}

function CardFrame({ entry, selected, onSelect, marks, children }: CardProps & { marks?: object; children: ReactNode }) {
  return (
    <section
      className={selected ? "studio-card studio-card--selected" : "studio-card"}
      data-studio-component={entry.name}
      data-studio-file={entry.file}
      data-studio-selected={selected ? "" : undefined}
      {...marks}
    >
      <header className="studio-card__label" onClick={onSelect}>
        <span className="studio-card__name">{entry.name}</span>
        <span className="studio-card__file">{entry.file}</span>
      </header>
      {children}
    </section>
  );
}

/** A component without stories: the card is its one tile. */
function ComponentTile(props: CardProps) {
  const { entry, context } = props;
  const tile = { owner: entry.id, component: entry.name, file: entry.file, files: [entry.file] };
  const { state, onRendered, onError } = useTileState(tile, context.version, context.failures);
  const Component = entry.component as ComponentType;
  return (
    <CardFrame {...props} marks={stateAttributes(state)}>
      <div className="studio-card__stage">
        <ErrorBoundary key={context.version} onRendered={onRendered} onError={onError}>
          {context.wrap(<Component />)}
        </ErrorBoundary>
      </div>
    </CardFrame>
  );
}

/** A component's card: one tile per story, or (without stories) the component itself. */
export function ComponentCard(props: CardProps) {
  const { entry, context, onlyStory } = props;
  if (!entry.stories) return <ComponentTile {...props} />;
  return (
    <CardFrame {...props}>
      {entry.stories
        .filter((story) => !onlyStory || story.exportName === onlyStory)
        .map((story) => (
          <StoryTile key={story.id} entry={entry} story={story} context={context} />
        ))}
    </CardFrame>
  );
}

/** A file that failed to import: its error in place, reported as its component's. */
export function BrokenFileCard({ broken }: { broken: BrokenFile }) {
  const state = useBrokenFileState(broken.file, broken.error);
  return (
    <section className="studio-card studio-card--broken" data-studio-broken-file={broken.file} {...stateAttributes(state)}>
      <header className="studio-card__label">
        <span className="studio-card__name">{broken.file}</span>
      </header>
      <ErrorPanel error={broken.error} title="This file failed to load" />
    </section>
  );
}
