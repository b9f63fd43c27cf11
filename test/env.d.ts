declare namespace Cloudflare {
  interface Env {
    /** The emulator Worker, for its test-only controls (see emulator/README.md). */
    EMULATOR: Fetcher
    /** test/gateway/fuzz.security.test.ts: requests per run, seed, shrink ('' when unset). */
    FUZZ_RUNS: string
    FUZZ_SEED: string
    FUZZ_SHRINK: string
  }
}

declare module '*?raw' {
  const text: string
  export default text
}
