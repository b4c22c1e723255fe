// `generated.js` exists only in a sandbox's `.studio/src/`: Studio writes it (see the renderer crate).
export {};
