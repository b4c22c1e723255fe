import type { ReactNode } from "react";
// Imported through the tsconfig "paths" alias, as the real code base does.
import { useTheme } from "@/theme/ThemeProvider";
import "./Card.css";

export interface CardProps {
  title?: string;
  children?: ReactNode;
}

export function Card({ title = "Quarterly report", children = "Revenue is up 12% on last quarter." }: CardProps) {
  const theme = useTheme();
  return (
    <article className="ds-card">
      <h3 className="ds-card__title">{title}</h3>
      <p className="ds-card__meta">{children}</p>
      <p className="ds-card__meta">Theme: {theme.name}</p>
    </article>
  );
}
