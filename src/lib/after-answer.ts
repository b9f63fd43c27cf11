/**
 * Work that must not hold up the answer: handed to the runtime's `waitUntil`, so the response goes
 * out first and the isolate stays alive until the work is done. Only for work whose loss is
 * already handled (the final audit entry of a request: a change's pending entry is already on
 * record): `waitUntil` has a time limit and an isolate can still be evicted. Not for ledger
 * bookkeeping (ownership/bookkeeping.ts says why).
 */
import type { Context } from 'hono'

export type AfterAnswer = (work: Promise<unknown>) => void

export function afterAnswerOf(c: Context): AfterAnswer {
  let ctx: { waitUntil(promise: Promise<unknown>): void } | undefined
  try {
    ctx = c.executionCtx
  } catch {
    ctx = undefined // app.request() in unit tests has no execution context: the work just runs
  }
  return (work) => ctx?.waitUntil(work)
}
