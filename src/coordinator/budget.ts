/**
 * The shared token's budget and breaker inside the coordinator: one instance per upstream token
 * (coordinator/shard.ts), so every isolate in every location draws on one count. It owns no
 * policy: each call brings the plan (policy/limits.ts), and this module only counts and grants,
 * atomically (one synchronous SQL step per call).
 *
 * Isolates do not ask once per request: they take a *lease* of a few requests for one member and
 * spend it locally (upstream/budget-gate.ts), so the coordinator is off most reads' path. A lease
 * counts as spent when it is granted; what an isolate did not use it hands back with its next
 * lease, and what it never hands back (the isolate died) stays counted: the error is always on
 * the side of fewer upstream calls.
 *
 * The window slides: spend is kept per second (table `spend`), and the window is the sum of the
 * last `windowMs` of it. The rule for a team asking for n requests:
 *   - the whole gateway never passes `cap` (the configured share of Cloudflare's limit);
 *   - `reserve` of it is held for the reserve roles (admins by default), who draw on it only once
 *     their own team's rule refuses them, so they can act while every team is flooding;
 *   - a team draws from the rest (the pool) while that leaves, for every *other* team, half of
 *     what that team has not yet used of its share. So unused share is lent (idle teams do not
 *     waste the token), but a team that wakes up always finds at least half its share, and a team
 *     within its share is refused only if others borrowed while it was idle;
 *   - a member never passes its team's per-member limit, when the policy sets one.
 * The breaker (table `breaker`): once the upstream answers 429, nothing is granted until its
 * retry-after has passed, for every isolate, but never longer than MAX_BREAKER_MS from now
 * (Cloudflare's own lockout): `trip` caps what it stores, and a stored time further away than that
 * (written before the cap existed) is cut back to it when read. An admin may close it at once
 * (`close`); isolates hear of it when they next ask (leases.ts, BREAKER_RECHECK_MS).
 *
 * The upstream's word (table `upstream_word`): every upstream answer says how many requests the
 * token has left and until when (upstream/rate-headers.ts); isolates pass the latest they heard
 * on with their next lease ask, and the latest heard is kept. It is believed over the plan:
 *   - the *room* is what the upstream said was left, less UPSTREAM_MARGIN (leases.ts), less
 *     everything granted since its request was sent (those calls are not in its count, or may
 *     not be: counted twice rather than not at all). Leases are kept with the millisecond they
 *     were granted, and a lease given back keeps what was spent of it, for this sum;
 *   - no lease is larger than the room, nor than an eighth of it, so that near the end leases are
 *     of one request and few calls are ever on their way unseen;
 *   - the token's cap shrinks to what was used in the window plus the room, and the reserve and
 *     every team's share shrink in the same proportion, so the rule above still holds: a team
 *     flooding is refused while other teams and the reserve keep their part of what is left;
 *   - the word holds until the upstream's reset, or, when it gave none, for one window of the
 *     plan from when it was heard (the policy's `window_seconds` is the upstream's window). Then,
 *     if the upstream gave its limit, a fresh window with the whole limit is assumed (the next
 *     answer corrects it); if not, the plan alone applies again. So a word can hold the gateway
 *     back for at most one window, and a gateway that was told to stop always starts again.
 * A refusal for want of room is `upstream`, with the time until the word's window ends.
 */
import { schema } from './schema'
import type { BudgetPlan } from '../policy/limits'
import {
  LEASE_TTL_MS,
  MAX_BREAKER_MS,
  UPSTREAM_MARGIN,
  type BudgetView,
  type LeaseAnswer,
  type LeaseAsk,
  type UpstreamWord,
} from './leases'

const SECOND = 1_000

interface TeamUse extends Record<string, SqlStorageValue> {
  team: string
  reserve: number
  n: number
}

/** The module's tables, as migrations (schema.ts). */
export const BUDGET_SCHEMA = schema('budget', [
  {
    id: 1,
    description: 'per-second spend, leases and the breaker',
    statements: [
      `CREATE TABLE IF NOT EXISTS spend (
        second INTEGER NOT NULL,
        team TEXT NOT NULL,
        member TEXT NOT NULL,
        reserve INTEGER NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (second, team, member, reserve)
      )`,
      `CREATE TABLE IF NOT EXISTS leases (
        id TEXT PRIMARY KEY,
        second INTEGER NOT NULL,
        team TEXT NOT NULL,
        member TEXT NOT NULL,
        reserve INTEGER NOT NULL,
        n INTEGER NOT NULL
      )`,
      `CREATE TABLE IF NOT EXISTS breaker (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        open_until_ms INTEGER NOT NULL
      )`,
    ],
  },
  {
    id: 2,
    description: "the upstream's latest word on the token's rate limit; leases kept once returned",
    statements: [
      // When each lease was granted, to the millisecond, and whether it came back: a lease given
      // back keeps what was spent of it, so that what was granted since a moment stays known.
      'ALTER TABLE leases ADD COLUMN granted_ms INTEGER',
      'ALTER TABLE leases ADD COLUMN returned INTEGER NOT NULL DEFAULT 0',
      `CREATE TABLE upstream_word (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        remaining INTEGER NOT NULL,
        limit_n INTEGER,
        reset_ms INTEGER,
        sent_ms INTEGER NOT NULL,
        heard_ms INTEGER NOT NULL
      )`,
    ],
  },
])

interface StoredWord extends Record<string, SqlStorageValue> {
  remaining: number
  limit_n: number | null
  reset_ms: number | null
  sent_ms: number
  heard_ms: number
}

/** What the upstream's word leaves the gateway now. */
interface UpstreamRoom {
  /** Requests the gateway may still grant before `untilMs`. */
  room: number
  untilMs: number
  remaining: number
  limit: number | null
}

const whole = (n: number) => Number.isFinite(n) && n >= 0 && Math.floor(n) === n

export function budgetTables(sql: SqlStorage) {
  const secondOf = (ms: number) => Math.floor(ms / SECOND)
  const firstSecond = (plan: BudgetPlan, nowMs: number) =>
    secondOf(nowMs) - Math.ceil(plan.windowMs / SECOND) + 1

  function breakerUntil(nowMs: number): number {
    const [row] = sql.exec<{ open_until_ms: number }>('SELECT open_until_ms FROM breaker').toArray()
    const untilMs = row?.open_until_ms ?? 0
    if (untilMs <= nowMs + MAX_BREAKER_MS) return untilMs
    sql.exec('UPDATE breaker SET open_until_ms = ?', nowMs + MAX_BREAKER_MS)
    return nowMs + MAX_BREAKER_MS
  }

  /** Keeps the word if it is the latest heard (a word that makes no sense is not kept). */
  function hear(word: UpstreamWord, nowMs: number) {
    if (!whole(word.remaining) || !Number.isFinite(word.sentMs) || !Number.isFinite(word.heardMs))
      return
    const heardMs = Math.min(word.heardMs, nowMs)
    const sentMs = Math.min(word.sentMs, heardMs)
    const limit = word.limit !== null && whole(word.limit) ? word.limit : null
    const resetMs = word.resetMs !== null && Number.isFinite(word.resetMs) ? word.resetMs : null
    sql.exec(
      `INSERT INTO upstream_word (id, remaining, limit_n, reset_ms, sent_ms, heard_ms)
       VALUES (1, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET remaining = excluded.remaining, limit_n = excluded.limit_n,
         reset_ms = excluded.reset_ms, sent_ms = excluded.sent_ms, heard_ms = excluded.heard_ms
       WHERE excluded.heard_ms >= upstream_word.heard_ms`,
      word.remaining,
      limit,
      resetMs,
      sentMs,
      heardMs,
    )
  }

  /**
   * Requests granted from `ms` on (within the plan's window), less what came back unused: the
   * leases, to the millisecond (one granted before migration 2 counts from the start of its second).
   */
  function grantedSince(plan: BudgetPlan, ms: number, nowMs: number): number {
    const [row] = sql
      .exec<{ n: number | null }>(
        `SELECT SUM(n) AS n FROM leases
         WHERE second >= ? AND COALESCE(granted_ms, second * 1000) >= ?`,
        firstSecond(plan, nowMs),
        ms,
      )
      .toArray()
    return row?.n ?? 0
  }

  /** What the upstream's latest word leaves the gateway, or null when it is not believed now. */
  function upstreamRoom(plan: BudgetPlan, nowMs: number): UpstreamRoom | null {
    const [word] = sql.exec<StoredWord>('SELECT * FROM upstream_word').toArray()
    if (word === undefined) return null
    const limit = word.limit_n
    const windowMs = Math.max(SECOND, plan.windowMs)
    // Never believed longer than one window (or the upstream's lockout) from when it was heard: a
    // reset further away is a fault, as a day-long retry-after is for the breaker.
    const longest = word.heard_ms + Math.max(windowMs, MAX_BREAKER_MS)
    const untilMs = Math.min(word.reset_ms ?? word.heard_ms + windowMs, longest)
    const margin =
      limit === null ? UPSTREAM_MARGIN : Math.min(UPSTREAM_MARGIN, Math.floor(limit / 4))
    let remaining = word.remaining
    let sinceMs = word.sent_ms
    let until = untilMs
    if (untilMs <= nowMs) {
      // The upstream's window has ended since: a fresh one with its whole limit, from its end.
      if (limit === null) return null
      remaining = limit
      sinceMs = untilMs + Math.floor((nowMs - untilMs) / windowMs) * windowMs
      until = sinceMs + windowMs
    }
    const room = Math.max(0, remaining - margin - grantedSince(plan, sinceMs, nowMs))
    return { room, untilMs: until, remaining, limit }
  }

  /** Everything granted in the plan's window, reserve included. */
  function usedInWindow(plan: BudgetPlan, nowMs: number): number {
    const [row] = sql
      .exec<{ n: number | null }>(
        'SELECT SUM(n) AS n FROM spend WHERE second >= ?',
        firstSecond(plan, nowMs),
      )
      .toArray()
    return row?.n ?? 0
  }

  /** The plan, with its cap shrunk to what was used plus the room, and everything in proportion. */
  function believed(plan: BudgetPlan, upstream: UpstreamRoom | null, nowMs: number): BudgetPlan {
    if (upstream === null) return plan
    const cap = usedInWindow(plan, nowMs) + upstream.room
    if (cap >= plan.cap) return plan
    const scale = plan.cap === 0 ? 0 : cap / plan.cap
    return {
      windowMs: plan.windowMs,
      cap,
      reserve: Math.floor(plan.reserve * scale),
      shares: Object.fromEntries(
        Object.entries(plan.shares).map(([team, share]) => [team, Math.floor(share * scale)]),
      ),
    }
  }

  function giveBack(returning: { id: string; unused: number }) {
    const [lease] = sql
      .exec<{ second: number; team: string; member: string; reserve: number; n: number }>(
        'SELECT second, team, member, reserve, n FROM leases WHERE id = ? AND returned = 0',
        returning.id,
      )
      .toArray()
    if (lease === undefined) return
    const unused = Math.max(0, Math.min(lease.n, Math.floor(returning.unused)))
    sql.exec('UPDATE leases SET n = n - ?, returned = 1 WHERE id = ?', unused, returning.id)
    sql.exec(
      `UPDATE spend SET n = n - ? WHERE second = ? AND team = ? AND member = ? AND reserve = ?`,
      unused,
      lease.second,
      lease.team,
      lease.member,
      lease.reserve,
    )
  }

  function usage(plan: BudgetPlan, team: string, member: string, nowMs: number, room = Infinity) {
    const from = firstSecond(plan, nowMs)
    const byTeam = new Map<string, number>()
    let reserveUsed = 0
    for (const row of sql.exec<TeamUse>(
      'SELECT team, reserve, SUM(n) AS n FROM spend WHERE second >= ? GROUP BY team, reserve',
      from,
    )) {
      if (row.reserve === 1) reserveUsed += row.n
      else byTeam.set(row.team, (byTeam.get(row.team) ?? 0) + row.n)
    }
    const [mine] = sql
      .exec<{ n: number | null }>(
        'SELECT SUM(n) AS n FROM spend WHERE second >= ? AND team = ? AND member = ?',
        from,
        team,
        member,
      )
      .toArray()
    const poolUsed = [...byTeam.values()].reduce((sum, n) => sum + n, 0)
    const heldForOthers = Object.entries(plan.shares).reduce(
      (held, [other, share]) =>
        other === team ? held : held + Math.ceil(Math.max(0, share - (byTeam.get(other) ?? 0)) / 2),
      0,
    )
    const pool = plan.cap - plan.reserve
    return {
      teamUsed: byTeam.get(team) ?? 0,
      memberUsed: mine?.n ?? 0,
      poolUsed,
      reserveUsed,
      teamAvailable: Math.min(room, Math.max(0, pool - poolUsed - heldForOthers)),
      reserveAvailable: Math.min(room, Math.max(0, plan.reserve - reserveUsed)),
    }
  }

  /** When the oldest spend in the window leaves it: the earliest a refused team may try again. */
  function retryAfterMs(plan: BudgetPlan, nowMs: number): number {
    const [oldest] = sql
      .exec<{ second: number | null }>(
        'SELECT MIN(second) AS second FROM spend WHERE second >= ? AND n > 0',
        firstSecond(plan, nowMs),
      )
      .toArray()
    const second = oldest?.second ?? secondOf(nowMs)
    return Math.max(SECOND, (second + 1) * SECOND + plan.windowMs - nowMs)
  }

  function record(ask: LeaseAsk, n: number, reserve: boolean, nowMs: number): LeaseAnswer {
    const second = secondOf(nowMs)
    const id = crypto.randomUUID()
    sql.exec(
      `INSERT INTO spend (second, team, member, reserve, n) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (second, team, member, reserve) DO UPDATE SET n = n + excluded.n`,
      second,
      ask.team,
      ask.member,
      reserve ? 1 : 0,
      n,
    )
    sql.exec(
      `INSERT INTO leases (id, second, team, member, reserve, n, granted_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
      id,
      second,
      ask.team,
      ask.member,
      reserve ? 1 : 0,
      n,
      nowMs,
    )
    return { kind: 'lease', granted: n, id, expiresMs: nowMs + LEASE_TTL_MS }
  }

  return {
    /** Requests granted to each team, everything this instance still counts (inspection: tests). */
    grantedByTeam(): Record<string, number> {
      return Object.fromEntries(
        sql
          .exec<{ team: string; n: number }>('SELECT team, SUM(n) AS n FROM spend GROUP BY team')
          .toArray()
          .map((row) => [row.team, row.n]),
      )
    },

    /** Forgets every grant and lease and closes the breaker (tests start each case afresh). */
    forget(): void {
      for (const table of ['spend', 'leases', 'breaker', 'upstream_word']) {
        sql.exec(`DELETE FROM ${table}`)
      }
    },

    lease(ask: LeaseAsk, nowMs: number): LeaseAnswer {
      const from = firstSecond(ask.plan, nowMs)
      sql.exec('DELETE FROM spend WHERE second < ?', from)
      sql.exec('DELETE FROM leases WHERE second < ?', from)
      if (ask.returning) giveBack(ask.returning)
      if (ask.upstream) hear(ask.upstream, nowMs)

      const openUntil = breakerUntil(nowMs)
      if (openUntil > nowMs)
        return { kind: 'refused', refusal: 'breaker', retryAfterMs: openUntil - nowMs }

      const upstream = upstreamRoom(ask.plan, nowMs)
      const untilUpstreamResets = () => Math.max(SECOND, (upstream?.untilMs ?? 0) - nowMs)
      if (upstream !== null && upstream.room < 1) {
        return { kind: 'refused', refusal: 'upstream', retryAfterMs: untilUpstreamResets() }
      }
      const plan = believed(ask.plan, upstream, nowMs)
      const use = usage(plan, ask.team, ask.member, nowMs, upstream?.room)
      const memberRoom =
        ask.memberLimit === null ? Infinity : Math.max(0, ask.memberLimit - use.memberUsed)
      // Near the upstream's limit, leases of one: few calls are ever on their way unseen.
      const leaseRoom = upstream === null ? Infinity : Math.max(1, Math.floor(upstream.room / 8))
      // Never the whole of what is left in one lease: other isolates of the team need some too.
      const portion = (available: number) =>
        Math.min(ask.want, memberRoom, leaseRoom, Math.max(1, Math.floor(available / 4)), available)
      const fromTeam = portion(use.teamAvailable)
      if (fromTeam >= 1) return record(ask, fromTeam, false, nowMs)
      if (ask.reserveEligible) {
        const fromReserve = portion(use.reserveAvailable)
        if (fromReserve >= 1) return record(ask, fromReserve, true, nowMs)
      }
      const sliding = retryAfterMs(plan, nowMs)
      return {
        kind: 'refused',
        refusal: 'budget',
        retryAfterMs: upstream === null ? sliding : Math.min(sliding, untilUpstreamResets()),
      }
    },

    /** Opens the breaker until `untilMs`, at most MAX_BREAKER_MS from now (never shortens it). */
    trip(untilMs: number, nowMs: number): void {
      sql.exec(
        `INSERT INTO breaker (id, open_until_ms) VALUES (1, ?)
         ON CONFLICT (id) DO UPDATE SET open_until_ms = MAX(open_until_ms, excluded.open_until_ms)`,
        Math.min(untilMs, nowMs + MAX_BREAKER_MS),
      )
    },

    /** Closes the breaker now; answers until when it was open (0: it was not). */
    close(nowMs: number): { wasOpenUntilMs: number } {
      const untilMs = breakerUntil(nowMs)
      sql.exec('DELETE FROM breaker')
      return { wasOpenUntilMs: untilMs > nowMs ? untilMs : 0 }
    },

    view(
      plan: BudgetPlan,
      who: { team: string; member: string; memberLimit: number | null },
      nowMs: number,
    ): BudgetView {
      const upstream = upstreamRoom(plan, nowMs)
      const believedPlan = believed(plan, upstream, nowMs)
      const use = usage(believedPlan, who.team, who.member, nowMs, upstream?.room)
      const openUntil = breakerUntil(nowMs)
      return {
        window_seconds: Math.round(plan.windowMs / SECOND),
        token: {
          cap: believedPlan.cap,
          used: use.poolUsed + use.reserveUsed,
          reserve: believedPlan.reserve,
          reserve_used: use.reserveUsed,
        },
        team: {
          share: believedPlan.shares[who.team] ?? 0,
          used: use.teamUsed,
          available: use.teamAvailable,
        },
        member: { limit: who.memberLimit, used: use.memberUsed },
        breaker: {
          open: openUntil > nowMs,
          retry_after_seconds: Math.max(0, Math.ceil((openUntil - nowMs) / SECOND)),
        },
        upstream:
          upstream === null
            ? null
            : {
                limit: upstream.limit,
                remaining: upstream.remaining,
                room: upstream.room,
                reset_seconds: Math.max(0, Math.ceil((upstream.untilMs - nowMs) / SECOND)),
              },
      }
    },
  }
}
