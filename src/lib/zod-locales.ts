/**
 * What the bundle gets in place of zod's locale index (wrangler.toml `[alias]`): English only.
 *
 * zod re-exports all its locales as a namespace (`z.locales`, `z.core.locales`), and
 * @hono/zod-openapi hands the whole `z` namespace to zod-to-openapi, so esbuild keeps every
 * locale (about 260 KB, a third of the bundle) although the gateway never calls `z.config()`.
 * English, the default zod registers by itself, stays reachable under its usual name; every other
 * locale is left out. Tests run on Vite's bundling, which does not read the alias, and see the
 * same English messages.
 */
export { default as en } from 'zod/v4/locales/en.js'
