import { Component, type ReactNode } from "react";

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
}

interface State {
  error: unknown;
  failed: boolean;
}

/** Keeps a component's render error inside its own card. The parent gives it a new `key` whenever
 * the component's module changes, so a fixed component gets a fresh try. */
export class ErrorBoundary extends Component<Props, State> {
  state: State = { error: null, failed: false };

  static getDerivedStateFromError(error: unknown): State {
    return { error, failed: true };
  }

  render() {
    if (this.state.failed) return <ErrorPanel error={this.state.error} title="This component failed to render" />;
    return this.props.children;
  }
}
