// @ts-check
/**
 * Runs calls of the official `cloudflare` SDK in a process of its own, as a team's program would,
 * and prints what each returned or raised as JSON on stdout. The e2e tests write the program (JSON
 * on stdin) and read the outcomes; keeping the SDK out of the test process means its fetch, its
 * retries and its timers are the real ones, untouched by vitest.
 *
 * stdin:  { baseURL, steps: [{ token, call, args, idFrom? }] }
 *   call:   create | list | get | delete | associations
 *   args:   the SDK's parameters, account_id included (`id` for get, delete, associations)
 *   idFrom: index of an earlier step whose result's id is used as `id`
 * stdout: [{ ok: true, value } | { ok: false, error: { class, status, message, errors, retry } }]
 *
 * Every step runs with the SDK's defaults (2 retries, its backoff, 60 s timeout): that is what the
 * tests are about.
 */
import Cloudflare from 'cloudflare'

const input = JSON.parse(
  await new Promise((resolve, reject) => {
    let text = ''
    process.stdin.setEncoding('utf8')
    process.stdin.on('data', (chunk) => (text += chunk))
    process.stdin.on('end', () => resolve(text))
    process.stdin.on('error', reject)
  }),
)

/** @type {Map<string, Cloudflare>} */
const clients = new Map()
/** @param {string} token */
function client(token) {
  let cf = clients.get(token)
  if (!cf) {
    // Only apiToken: X-Auth-Email/X-Auth-Key from the environment must not leak into the call.
    cf = new Cloudflare({ apiToken: token, apiKey: null, apiEmail: null, baseURL: input.baseURL })
    clients.set(token, cf)
  }
  return cf
}

/**
 * @param {Cloudflare} cf
 * @param {string} call
 * @param {Record<string, any>} args
 */
async function run(cf, call, args) {
  const { id, ...params } = args
  switch (call) {
    case 'create':
      return await cf.mtlsCertificates.create(/** @type {any} */ (params))
    case 'list': {
      const items = []
      for await (const item of cf.mtlsCertificates.list(/** @type {any} */ (params)))
        items.push(item)
      return items
    }
    case 'get':
      return await cf.mtlsCertificates.get(id, /** @type {any} */ (params))
    case 'delete':
      // `?? null`: a resolved `undefined` would vanish from the JSON, and "resolved with
      // nothing" is exactly what a test must be able to see.
      return (await cf.mtlsCertificates.delete(id, /** @type {any} */ (params))) ?? null
    case 'associations': {
      const items = []
      for await (const item of cf.mtlsCertificates.associations.get(
        id,
        /** @type {any} */ (params),
      ))
        items.push(item)
      return items
    }
    default:
      throw new Error(`unknown call ${call}`)
  }
}

/** @param {unknown} error */
function describe(error) {
  if (!(error instanceof Error)) return { class: typeof error, message: String(error) }
  const api = error instanceof Cloudflare.APIError ? error : undefined
  return {
    class: error.constructor.name,
    isAPIError: api !== undefined,
    status: api?.status ?? null,
    message: error.message,
    errors: api?.errors ?? [],
    retry: api?.headers?.get('x-should-retry') ?? null,
  }
}

/** @type {any[]} */
const outcomes = []
for (const step of input.steps) {
  const args = { ...step.args }
  if (step.idFrom !== undefined) args.id = outcomes[step.idFrom]?.value?.id
  try {
    outcomes.push({ ok: true, value: await run(client(step.token), step.call, args) })
  } catch (error) {
    outcomes.push({ ok: false, error: describe(error) })
  }
}
process.stdout.write(JSON.stringify(outcomes))
