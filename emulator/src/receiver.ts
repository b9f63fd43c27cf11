/**
 * Owns: a stand-in for the teams' webhook receivers (issue 23), so that tests and `npm start` can
 * watch the gateway's notices arrive without a real Slack or webhook endpoint: every POST to
 * `/__receiver/<name>` on any host is kept (headers, body) and answered 200, or with a status a
 * test queued (`PUT /__emulator/receiver {fail: {status, times}}`) to show retries. Nothing here
 * checks a signature: the test that reads the deliveries does, as a real receiver would.
 */

export type Delivery = {
  name: string
  headers: Record<string, string>
  body: string
  status: number
  at: string
}

const MAX_DELIVERIES = 1_000
const deliveries: Delivery[] = []
let failing: { status: number; times: number } = { status: 500, times: 0 }

export const RECEIVER_PREFIX = '/__receiver/'

export async function receive(request: Request): Promise<Response> {
  const name = new URL(request.url).pathname.slice(RECEIVER_PREFIX.length)
  const status = failing.times > 0 ? failing.status : 200
  if (failing.times > 0) failing = { ...failing, times: failing.times - 1 }
  deliveries.push({
    name,
    headers: Object.fromEntries([...request.headers].map(([k, v]) => [k.toLowerCase(), v])),
    body: await request.text(),
    status,
    at: new Date().toISOString(),
  })
  if (deliveries.length > MAX_DELIVERIES) deliveries.splice(0, deliveries.length - MAX_DELIVERIES)
  return new Response(status === 200 ? 'ok' : 'failing on purpose', { status })
}

export const listDeliveries = (): Delivery[] => [...deliveries]

export function failNext(status: number, times: number): void {
  failing = { status, times }
}

export function resetReceiver(): void {
  deliveries.length = 0
  failing = { status: 500, times: 0 }
}
