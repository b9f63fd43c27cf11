declare namespace Cloudflare {
  interface Env {
    /** The bundled emulator (build.mjs output) as an auxiliary worker; see vitest.config.ts. */
    BUNDLED: Fetcher
  }
  interface GlobalProps {
    mainModule: typeof import('../src/index')
  }
}

declare module '*?raw' {
  const text: string
  export default text
}
