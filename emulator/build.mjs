// Bundles the emulator Worker into one ES module that workerd can run without Vite or wrangler,
// e.g. as an auxiliary worker in the gateway's tests (`miniflare.workers[].scriptPath`).
//
//   import { buildEmulator } from './emulator/build.mjs'
//   await buildEmulator('.build/emulator.mjs')
//
// or from the command line: `node emulator/build.mjs .build/emulator.mjs`.
// @peculiar/x509 needs no nodejs_compat: its only runtime requirement, a Reflect metadata API for
// tsyringe, is provided by @abraham/reflection, which the entry point imports first.
import { build } from 'esbuild'
import { resolve } from 'node:path'
import process from 'node:process'
import { fileURLToPath, pathToFileURL, URL } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))

export async function buildEmulator(outfile) {
  await build({
    entryPoints: [resolve(here, 'src/index.ts')],
    outfile: resolve(outfile),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    conditions: ['workerd', 'worker', 'browser'],
    target: 'es2022',
    logLevel: 'warning',
  })
  return resolve(outfile)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outfile = process.argv[2]
  if (!outfile) {
    process.stderr.write('usage: node emulator/build.mjs <outfile.mjs>\n')
    process.exit(1)
  }
  process.stdout.write(`${await buildEmulator(outfile)}\n`)
}
