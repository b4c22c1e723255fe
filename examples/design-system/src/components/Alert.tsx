import type { ReactNode } from "react";

/** Not a component even though it is capitalised: Studio must not try to render it. */
export const ALERT_TONES = ["info", "danger"] as const;

export interface AlertProps {
  tone?: (typeof ALERT_TONES)[number];
  children?: ReactNode;
}

export function Alert({ tone = "info", children = "Your changes were saved." }: AlertProps) {
  const color = tone === "danger" ? "var(--ds-color-danger)" : "var(--ds-color-primary)";
  return (
    <div
      role="alert"
      style={{
        borderLeft: `4px solid ${color}`,
        borderRadius: "var(--ds-radius-sm)",
        padding: "var(--ds-space-3) var(--ds-space-4)",
        background: "#f9fafb",
        font: "400 14px/20px var(--ds-font)",
      }}
    >
      {children}
    </div>
  );
}

/** A second component in the same file: named exports each get their own card. */
export function InlineAlert({ children = "Inline notice" }: { children?: ReactNode }) {
  return <span style={{ color: "var(--ds-color-danger)", font: "500 13px var(--ds-font)" }}>{children}</span>;
}
