/**
 * What a person reads when the console refuses or fails: the API's error messages are written for
 * programs ("expected Authorization: Bearer mtlsgw_<key>", "must be an RFC 3339 date-time"), so the
 * console says the same thing in plain words, keyed by the error's code, and offers a next step.
 * The code stays on the page, small, for whoever the member asks for help (docs/errors.md lists it).
 *
 * Only copy lives here: which error happened is decided where it is raised, and the audit entry keeps
 * the API's own message and code. A code without a sentence here falls back to the API's message.
 */
import { ERROR_CODES, type ErrorDetail } from '../lib/errors'

type Kind = keyof typeof ERROR_CODES
const codeOf = (kind: Kind): number => ERROR_CODES[kind].code

const KEY_HELP = 'Paste the whole key your team lead gave you: it starts with mtlsgw_.'
const ASK_LEAD = 'Ask your team lead for a new key.'
const TRY_LATER = 'Nothing was changed. Try again in a few minutes.'

/** Plain sentences for the codes a console visitor meets, by code. */
const COPY = new Map<number, string>(
  (
    [
      ['MISSING_CREDENTIALS', `Enter your gateway key. ${KEY_HELP}`],
      ['MALFORMED_CREDENTIALS', `That is not a gateway key. ${KEY_HELP}`],
      ['UNKNOWN_KEY', `The gateway does not know this key. ${KEY_HELP}`],
      ['EXPIRED_KEY', `This key has expired. ${ASK_LEAD}`],
      ['REVOKED_KEY', `This key has been revoked. ${ASK_LEAD}`],
      [
        'INVALID_ACCESS_TOKEN',
        'Your Cloudflare Access sign-in could not be checked. Sign in again.',
      ],
      [
        'ACCESS_NOT_A_MEMBER',
        'You are signed in to Cloudflare Access, but you are not a member of any team here. Ask an admin to add you.',
      ],
      [
        'CONSOLE_FORM_REFUSED',
        'This form did not come from this console page (or it was open too long). Open the page again and resend it.',
      ],
      [
        'CONSOLE_SESSIONS_UNAVAILABLE',
        'Sessions cannot be checked right now, so the console lets nobody in. Try again in a few minutes.',
      ],
      ['INVALID_ACCOUNT_ID', 'This address does not name an account: the link is incomplete.'],
      [
        'INVALID_CERTIFICATE_ID',
        'This address does not name a certificate: the link is incomplete.',
      ],
      ['INVALID_QUERY', 'One of the fields is not valid.'],
      ['BODY_TOO_LARGE', 'What you sent is too large.'],
      ['DENIED', 'Your role may not do this. If you need to, ask an admin.'],
      ['UNKNOWN_TEAM', 'There is no such team. Choose one from the list.'],
      [
        'CERTIFICATE_NOT_FOUND',
        'There is no certificate here that you may see: it was deleted, or it belongs to another team.',
      ],
      ['NO_ROUTE', 'There is no console page at this address.'],
      ['APPROVAL_NOT_FOUND', 'There is no such approval, or it is not one you may see.'],
      ['SELF_APPROVAL', 'You asked for this delete, so another member has to approve it.'],
      ['APPROVAL_EXPIRED', 'This approval waited too long and expired. Request the delete again.'],
      ['APPROVAL_CLOSED', 'This approval has been decided already.'],
      [
        'APPROVAL_REQUIRED',
        'Not deleted yet: a second member has to approve the delete. It waits on the approvals page.',
      ],
      [
        'CERTIFICATE_IN_USE',
        'Not deleted: Cloudflare services still use this certificate. Remove those first.',
      ],
      ['AUDIT_UNAVAILABLE', `The audit log cannot be written right now. ${TRY_LATER}`],
      [
        'COORDINATOR_UNAVAILABLE',
        `The gateway cannot reach its coordinator right now. ${TRY_LATER}`,
      ],
      [
        'BUDGET_EXHAUSTED',
        "Your team has used its share of Cloudflare's API for now. Wait a few minutes.",
      ],
      ['MEMBER_RATE_EXCEEDED', 'Too many requests from you in a short time. Wait a minute.'],
      [
        'BREAKER_OPEN',
        "Calls to Cloudflare's API are paused for every team for a few minutes, to keep the shared token from being locked. Wait a few minutes.",
      ],
      ['UPSTREAM_UNREACHABLE', "Cloudflare's API could not be reached. Try again in a minute."],
      ['UPSTREAM_TIMEOUT', "Cloudflare's API did not answer in time. Try again in a minute."],
      ['UPSTREAM_BAD_RESPONSE', "Cloudflare's API answered with something unexpected. Try again."],
      ['UPSTREAM_FAILED', "Cloudflare's API failed to do this. Try again in a minute."],
      [
        'UPSTREAM_CREDENTIALS_REJECTED',
        "Cloudflare refused the gateway's own token. The gateway's operators have to fix it.",
      ],
      [
        'INTERNAL',
        'Something went wrong inside the gateway. Try again; if it happens again, tell its operators.',
      ],
      [
        'MISCONFIGURED',
        "The gateway's configuration is broken, so it serves nothing. Tell its operators.",
      ],
    ] as const satisfies readonly (readonly [Kind, string])[]
  ).map(([kind, text]) => [codeOf(kind), text]),
)

/** A field's name as a form shows it, from a JSON pointer (`/from` → "from"). */
const fieldOf = (pointer: string | undefined) =>
  pointer === undefined ? undefined : pointer.replace(/^\//, '').replaceAll('_', ' ') || undefined

/** Validation messages that speak a standard's name, said as a person would. */
function plainDetail(message: string): string {
  if (/RFC 3339|date-time|datetime/i.test(message))
    return 'a date and time, such as 2026-12-07 09:30 (UTC)'
  return message
}

/** One error as a sentence for a person. */
export function humanMessage(error: ErrorDetail): string {
  const copy = COPY.get(error.code)
  const field = fieldOf(error.source?.pointer)
  if (error.code === codeOf('INVALID_QUERY') || error.code === codeOf('INVALID_BODY')) {
    // The field and what it takes; the API's message for a field is already short.
    return field === undefined
      ? (copy ?? 'Something in the form is not valid.')
      : fieldSentence(field, error.message)
  }
  return copy ?? error.message
}

const fieldSentence = (field: string, message: string) =>
  `The “${field}” field needs ${plainDetail(message).replace(/^must be /, '')}.`

/** One invalid form field (a validation problem's pointer and message) as a sentence. */
export const problemSentence = (problem: { pointer: string; message: string }) =>
  fieldSentence(fieldOf(problem.pointer) ?? 'query', problem.message)

export interface NextStep {
  href: string
  label: string
}

const SECTIONS: [prefix: string, step: NextStep][] = [
  ['/console/certificates', { href: '/console/certificates', label: 'Back to the certificates' }],
  ['/console/approvals', { href: '/console/approvals', label: 'Back to the approvals' }],
  ['/console/audit', { href: '/console/audit', label: 'Back to the audit log' }],
  ['/console/budgets', { href: '/console/budgets', label: 'Back to the budgets' }],
]

/**
 * Where to go from an error: sign in again (401), try the same page again (a GET that failed for
 * a passing reason), back to the part of the console the page belongs to, and home.
 */
export function nextSteps(status: number, method: string, path: string, search: string) {
  const steps: NextStep[] = []
  if (status === 401) {
    steps.push({
      href: `/console/sign-in?next=${encodeURIComponent(path + search)}`,
      label: 'Sign in',
    })
  }
  const passing = status === 429 || status === 502 || status === 503 || status === 504
  if (passing && method === 'GET') steps.push({ href: path + search, label: 'Try again' })
  const section = SECTIONS.find(([prefix]) => path.startsWith(prefix) && path !== prefix + '.csv')
  if (section && !(section[1].href === path && search === '' && !passing)) steps.push(section[1])
  steps.push({ href: '/console', label: 'Console home' })
  return steps
}
