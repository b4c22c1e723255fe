export interface AvatarProps {
  name?: string;
  size?: number;
}

/** Initials of a person's name, e.g. "Ada Lovelace" → "AL". */
export function initials(name: string): string {
  return name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0]?.toUpperCase() ?? "")
    .join("");
}

export function Avatar({ name = "Ada Lovelace", size = 40 }: AvatarProps) {
  return (
    <span
      aria-label={name}
      style={{
        display: "inline-grid",
        placeItems: "center",
        width: size,
        height: size,
        borderRadius: "50%",
        background: "var(--ds-color-primary)",
        color: "var(--ds-color-primary-text)",
        font: `600 ${Math.round(size / 2.6)}px/1 var(--ds-font)`,
      }}
    >
      {initials(name)}
    </span>
  );
}
