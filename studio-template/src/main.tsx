// Entry of the renderer page. `generated.js` is written by Studio for each sandbox (component
// globs, setup modules, wrapper, WebSocket URL); importing it publishes them to the registry.
import { createRoot } from "react-dom/client";
import { App } from "./App.tsx";
import "./studio.css";
import "./generated.js";
import { reloadWhenTheRendererIsBack } from "./reconnect.ts";

declare global {
  interface Window {
    /** Set once per page load: tests tell a hot update from a reload by it. */
    __studioBoot?: number;
    /** Wall-clock time (ms since the epoch) at which the first components were on screen. */
    __studioRenderedAt?: number;
  }
}

window.__studioBoot = performance.timeOrigin;
reloadWhenTheRendererIsBack();
const container = document.getElementById("studio-root");
if (container) createRoot(container).render(<App />);
