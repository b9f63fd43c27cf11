/**
 * The emulator Worker's entry point: a stand-in for Cloudflare's mTLS certificates API plus a
 * test-only control API (see README.md). The Reflect shim must load before @peculiar/x509.
 */

import '@abraham/reflection'

import { createEmulator } from './app'

export default createEmulator()
