declare namespace Cloudflare {
  interface Env {
    /** The emulator Worker, for its test-only controls (see emulator/README.md). */
    EMULATOR: Fetcher
  }
}

declare module '*?raw' {
  const text: string
  export default text
}
