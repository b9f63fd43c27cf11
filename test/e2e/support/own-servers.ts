/**
 * A test file's own emulator and gateway (what `npm start` runs, scripts/dev-servers.mjs), for a
 * file that needs a policy or variables of its own rather than global-setup's pair: free ports,
 * and the state, env file and dev registry in the file's `workDir`, so that nobody else's
 * `wrangler dev` sees them.
 */
import path from 'node:path'
import { freePorts, startDevServers, type DevServers } from '../../../scripts/dev-servers.mjs'

type StartOptions = Parameters<typeof startDevServers>[0]

export async function ownDevServers(
  workDir: string,
  /** The file's own options; given the emulator's port, which some variables name. */
  options: (ports: {
    emulatorPort: number
  }) => Pick<StartOptions, 'policyFile' | 'vars' | 'onLine'>,
): Promise<DevServers> {
  const [gatewayPort, emulatorPort, gatewayInspectorPort, emulatorInspectorPort] = (await freePorts(
    4,
  )) as [number, number, number, number]
  return startDevServers({
    gatewayPort,
    emulatorPort,
    gatewayInspectorPort,
    emulatorInspectorPort,
    gatewayStateDir: path.join(workDir, 'state/gateway'),
    emulatorStateDir: path.join(workDir, 'state/emulator'),
    envFile: path.join(workDir, 'gateway.env'),
    env: { WRANGLER_REGISTRY_PATH: path.join(workDir, 'registry') },
    readyTimeoutMs: 90_000,
    ...options({ emulatorPort }),
  })
}
