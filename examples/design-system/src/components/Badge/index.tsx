// A default export in Folder/index.tsx: Studio names it after its folder, "Badge".
export interface BadgeProps {
  tone?: "neutral" | "success" | "warning";
  label?: string;
}

const toneColors: Record<NonNullable<BadgeProps["tone"]>, string> = {
  neutral: "var(--ds-color-muted)",
  success: "var(--ds-color-success)",
  warning: "var(--ds-color-warning)",
};

export default function ({ tone = "success", label = "New" }: BadgeProps) {
  return (
    <span
      style={{
        display: "inline-block",
        padding: "2px 8px",
        borderRadius: 999,
        color: "#fff",
        background: toneColors[tone],
        font: "600 12px/16px var(--ds-font)",
      }}
    >
      {label}
    </span>
  );
}
