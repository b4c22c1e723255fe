import { Component, useEffect, type ReactNode } from "react";

export function describeError(error: unknown): { message: string; stack: string } {
  if (error instanceof Error) {
    const stack = (error.stack ?? "").split("\n").slice(1, 6).join("\n");
    return { message: `${error.name}: ${error.message}`, stack };
  }
  return { message: String(error), stack: "" };
}

export function ErrorPanel({ error, title }: { error: unknown; title: string }) {
  const { message, stack } = describeError(error);
  return (
    <div className="studio-error" data-studio-error={message}>
      <strong>{title}</strong>
      <pre>{message}</pre>
      {stack && <pre className="studio-error__stack">{stack}</pre>}
    </div>
  );
}

interface Props {
  children: ReactNode;
  /** Called once the children committed without throwing (not again until remounted). */
  onRendered?: () => void;
  /** Called with what the children threw. */
  onError?: (error: unknown) => void;
}

interface State {
  error: unknown;
  failed: boolean;
}

/** Rendered after the children inside the same boundary: if any of them throws, React discards
 * the whole attempt and this effect never runs, so it means "the content is on screen". */
function Committed({ onCommit }: { onCommit?: () => void }) {
  // Once per mount: the boundary is remounted (new key) for every new version of the content.
  useEffect(() => onCommit?.(), []);
  return null;
}

/** Keeps a component's render error inside its own card. The parent gives it a new `key` whenever
 * the component's module changes, so a fixed component gets a fresh try. */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null, failed: false };

  static getDerivedStateFromError(error: unknown): State {
    return { error, failed: true };
  }

  componentDidCatch(error: unknown): void {
    this.props.onError?.(error);
  }

  render() {
    if (this.state.failed) return <ErrorPanel error={this.state.error} title="This component failed to render" />;
    return (
      <>
        {this.props.children}
        <Committed onCommit={this.props.onRendered} />
      </>
    );
  }
}
