// The component a pre-started renderer serves before any sandbox claims it: enough JSX, hooks
// and CSS-in-JS-free TypeScript for Vite's transform pipeline and React's optimized bundles to be
// exercised once (crates/studio-renderer/src/pool.rs).
import { useState } from "react";

export interface WarmProps {
  label?: string;
}

export function Warm({ label = "warm" }: WarmProps) {
  const [count, setCount] = useState(0);
  return (
    <button type="button" onClick={() => setCount(count + 1)}>
      {label} {count}
    </button>
  );
}
