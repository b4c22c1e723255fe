import { createContext, useContext, type ReactNode } from "react";

export interface Theme {
  name: string;
  density: "comfortable" | "compact";
}

const defaultTheme: Theme = { name: "Default", density: "comfortable" };
const acmeTheme: Theme = { name: "Acme", density: "comfortable" };

const ThemeContext = createContext<Theme>(defaultTheme);

/** Provides the Acme theme. Studio wraps every rendered component in it (see studio.json). */
export function ThemeProvider({ children }: { children?: ReactNode }) {
  return (
    <ThemeContext.Provider value={acmeTheme}>
      <div data-theme={acmeTheme.name.toLowerCase()} style={{ fontFamily: "var(--ds-font)" }}>
        {children}
      </div>
    </ThemeContext.Provider>
  );
}

export function useTheme(): Theme {
  return useContext(ThemeContext);
}
