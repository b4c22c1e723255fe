// Lets TypeScript type-check CSS imports the way Vite serves them.
declare module "*.module.css" {
  const classes: Record<string, string>;
  export default classes;
}
declare module "*.css";
