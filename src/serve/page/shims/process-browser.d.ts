// The `process` package's browser build (no types of its own).
declare module 'process/browser.js' {
  const process: Record<string, unknown>;
  export default process;
}
