/**
 * The floors of `src/` and the import graph between its modules, computed from the sources alone
 * (no imports here, so that the layering test in workerd and `scripts/structure.ts` in Node read
 * the same rules). CONTRIBUTING "Imports run one way" says what each floor holds and why each
 * allowed exception is allowed; `test/unit/layers.test.ts` fails on an import running up that is
 * not in `ALLOWED_UPWARD`, and on any import circle.
 */

/** Lowest first: a module imports from its own floor or below, never above. */
export const FLOORS = ['lib', 'stores', 'kernel', 'operations', 'handlers', 'app'] as const
export type Floor = (typeof FLOORS)[number]

/** The operations: plain inputs in, an `Outcome` out (CONTRIBUTING "The shape of the code"). */
const OPERATIONS = new Set([
  'approvals/approve.ts',
  // Issue 22.
  'approvals/decide.ts',
  'approvals/ending.ts',
  'approvals/park.ts',
  'audit/review.ts',
  'budget/close-breaker.ts',
  'certificates/operations.ts',
  'certificates/list-filter.ts',
  'lifecycle/expiring.ts', // issue 23
  'lifecycle/dead-notices.ts', // issue 23
  'lifecycle/successor.ts', // issue 23
  'lifecycle/watch.ts', // issue 23
  'ownership/assign.ts',
  'ownership/facts.ts',
  'ownership/transfer.ts',
  'policy/explain.ts',
  'control/propose.ts', // issue 20
  'control/members.ts', // issue 20, slice 4
  'control/policy-views.ts', // control-console (issue 20): the console's reads of the policy
])

/**
 * What meets Hono or the runtime: routes, handlers, middleware, the pipe's joints and the Hono
 * environment, the console's pages, and the scheduled jobs.
 */
const HANDLER_FILE =
  /^(?:[a-z-]+\/(?:routes|handlers|middleware|[a-z-]+-cron)\.ts|pipe\.ts|app-env\.ts|console\/.*)$/

/** The floor of a module, by its path under `src/` (`audit/store.ts`). */
export function floorOf(path: string): Floor {
  if (path.startsWith('lib/')) return 'lib'
  if (path.startsWith('kernel/')) return 'kernel'
  if (path === 'app.ts' || path === 'index.ts') return 'app'
  if (HANDLER_FILE.test(path)) return 'handlers'
  if (OPERATIONS.has(path)) return 'operations'
  return 'stores'
}

export interface Import {
  from: string
  to: string
  typeOnly: boolean
}

const IMPORT = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s+'([^']+)'/gm
const BARE_IMPORT = /^\s*import\s+'([^']+)'/gm

function resolve(from: string, specifier: string, known: Set<string>): string | undefined {
  if (!specifier.startsWith('.')) return undefined
  const parts = from.split('/').slice(0, -1)
  for (const part of specifier.split('/')) {
    if (part === '..') parts.pop()
    else if (part !== '.') parts.push(part)
  }
  const base = parts.join('/')
  const candidates = [base, `${base}.ts`, `${base}.tsx`, `${base}/index.ts`, `${base}/index.tsx`]
  return candidates.find((c) => known.has(c)) ?? `${base} (unresolved)`
}

/**
 * Every relative import between the modules (`path` under `src/` → source). An import is
 * type-only when it says `import type`, or names only `type` members.
 */
export function importsOf(sources: Record<string, string>): Import[] {
  const known = new Set(Object.keys(sources))
  const found: Import[] = []
  for (const [from, source] of Object.entries(sources)) {
    for (const m of source.matchAll(IMPORT)) {
      const to = resolve(from, m[4]!, known)
      if (to === undefined) continue
      const names = m[3]!
        .replace(/^\{|\}$/g, '')
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean)
      const typeOnly =
        m[2] !== undefined ||
        (m[3]!.startsWith('{') && names.length > 0 && names.every((n) => n.startsWith('type ')))
      found.push({ from, to, typeOnly })
    }
    for (const m of source.matchAll(BARE_IMPORT)) {
      const to = resolve(from, m[1]!, known)
      if (to !== undefined) found.push({ from, to, typeOnly: false })
    }
  }
  return found
}

const rank = (path: string) => FLOORS.indexOf(floorOf(path))

/** The imports that run up the floors, as `from → to` lines. */
export const upward = (imports: Import[]) =>
  imports.filter((i) => rank(i.to) > rank(i.from)).map((i) => `${i.from} → ${i.to}`)

/** The import circles: each strongly connected group of two or more modules, sorted. */
export function circles(imports: Import[]): string[][] {
  const next = new Map<string, string[]>()
  for (const { from, to } of imports) next.set(from, [...(next.get(from) ?? []), to])
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const groups: string[][] = []
  let counter = 0
  const visit = (node: string) => {
    index.set(node, counter)
    low.set(node, counter++)
    stack.push(node)
    onStack.add(node)
    for (const to of next.get(node) ?? []) {
      if (!index.has(to)) {
        visit(to)
        low.set(node, Math.min(low.get(node)!, low.get(to)!))
      } else if (onStack.has(to)) {
        low.set(node, Math.min(low.get(node)!, index.get(to)!))
      }
    }
    if (low.get(node) === index.get(node)) {
      const group: string[] = []
      let member: string
      do {
        member = stack.pop()!
        onStack.delete(member)
        group.push(member)
      } while (member !== node)
      const selfLoop = (next.get(node) ?? []).includes(node)
      if (group.length > 1 || selfLoop) groups.push(group.sort())
    }
  }
  for (const node of new Set(imports.flatMap((i) => [i.from, i.to]))) {
    if (!index.has(node)) visit(node)
  }
  return groups
}

/**
 * The imports allowed to run up, each justified in CONTRIBUTING ("Imports run one way"). A new
 * one fails the layering test until it is either removed or justified there and here.
 */
export const ALLOWED_UPWARD: readonly { import: string; why: string }[] = []
