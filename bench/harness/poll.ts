/**
 * Issue 21: served reads per upstream call. Five teams of two members (fixtures.ts `POLL_TEAMS`)
 * poll list and get of their own certificates in closed loops for `seconds`, as dashboards and CI
 * jobs do; the emulator's request log says how many upstream calls that cost. With the snapshot,
 * a read is served from the account's coordinator and the upstream sees one list per `max_age`
 * while anybody reads (docs/operators.md, "The snapshot").
 */
import { ACCOUNTS, POLL_TEAMS, clearRequestLog, inBatches, uploadBodies } from './fixtures'
import { load, type LoadRequest, type LoadResult } from './load'
import { EMULATOR_CONTROL_SECRET } from '../../scripts/dev-servers.mjs'

export interface PollFigure {
  seconds: number
  members: number
  result: LoadResult
  /** Requests the emulator received during the run, by method and path kind. */
  upstream: { total: number; lists: number; gets: number; other: number }
}

const collection = `/client/v4/accounts/${ACCOUNTS.poll}/mtls_certificates`

/** Each member's team uploads two certificates through the gateway: what its reads return. */
async function seedPoll(gateway: string): Promise<Map<string, string[]>> {
  const owned = new Map<string, string[]>()
  for (const team of POLL_TEAMS) {
    const bodies = await uploadBodies(2)
    const key = team.members[0]!.key
    const ids = await inBatches(bodies, 2, async (body) => {
      const response = await fetch(`${gateway}${collection}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body,
      })
      const text = await response.text()
      if (response.status !== 200)
        throw new Error(`poll fixture upload: ${response.status} ${text}`)
      return (JSON.parse(text) as { result: { id: string } }).result.id
    })
    owned.set(team.id, ids)
  }
  return owned
}

async function upstreamLog(emulatorUrl: string) {
  const response = await fetch(`${emulatorUrl}/__emulator/requests`, {
    headers: { 'x-emulator-secret': EMULATOR_CONTROL_SECRET },
  })
  const { requests } = (await response.json()) as { requests: { method: string; path: string }[] }
  const lists = requests.filter((r) => r.method === 'GET' && r.path === collection).length
  const gets = requests.filter(
    (r) => r.method === 'GET' && r.path.startsWith(`${collection}/`),
  ).length
  return { total: requests.length, lists, gets, other: requests.length - lists - gets }
}

export async function poll(
  servers: { gatewayUrl: string; emulatorUrl: string },
  seconds: number,
): Promise<PollFigure> {
  const owned = await seedPoll(servers.gatewayUrl)
  const members = POLL_TEAMS.flatMap((team) =>
    team.members.map((member) => ({ key: member.key, ids: owned.get(team.id)! })),
  )
  // One request of each member in turn, alternating list and get of one of its team's.
  let turn = 0
  const next = (): LoadRequest => {
    const n = turn++
    const member = members[n % members.length]!
    const round = Math.floor(n / members.length)
    const path =
      round % 2 === 0 ? collection : `${collection}/${member.ids[round % 4 === 1 ? 0 : 1]}`
    return { method: 'GET', path, headers: { authorization: `Bearer ${member.key}` } }
  }
  await clearRequestLog(servers.emulatorUrl)
  const result = await load({
    origin: servers.gatewayUrl,
    connections: members.length,
    duration: seconds,
    next,
  })
  return {
    seconds,
    members: members.length,
    result,
    upstream: await upstreamLog(servers.emulatorUrl),
  }
}

/** The report's section for it. */
export function renderPoll(figure: PollFigure): string {
  const { result, upstream } = figure
  const served = result.requests - result.failures
  const ratio = upstream.total === 0 ? '∞' : (served / upstream.total).toFixed(0)
  return [
    '## Served reads per upstream call (issue 21)',
    '',
    `${figure.members} members of 5 teams polling list and get of their own certificates in closed loops for ${figure.seconds} s (one account, the snapshot's default max age of 30 s):`,
    '',
    '| reads answered | 2xx | non-2xx | upstream calls (lists, gets, other) | served per upstream call | req/s | p50 | p99 |',
    '| -: | -: | -: | -: | -: | -: | -: | -: |',
    `| ${result.requests} | ${served} | ${result.failures} | ${upstream.total} (${upstream.lists}, ${upstream.gets}, ${upstream.other}) | ${ratio} | ${result.rps.toFixed(0)} | ${result.p50.toFixed(1)} ms | ${result.p99.toFixed(1)} ms |`,
    '',
  ].join('\n')
}
