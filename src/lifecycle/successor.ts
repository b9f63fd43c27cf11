/**
 * Naming a successor (issue 23, rotation.ts says what it guards): the caller names, for a
 * certificate of their team, the certificate that replaces it. Both must be visible to the caller
 * and the caller must be allowed to upload for the old one's team (who may replace it may name its
 * replacement). The old one's services are read now (its associations) and kept with the pairing:
 * the successor must serve them all before the old one can be deleted. On record before it is
 * stored, as every change.
 */
import { run, type Outcome } from '../kernel/operation'
import type { RequestScope } from '../kernel/scope'
import { GatewayError } from '../lib/errors'
import { upstreamRequests } from '../upstream/request'
import { checkSuccessor, problemOf } from './rotation'

type Deps = Pick<
  RequestScope,
  'principal' | 'who' | 'ledger' | 'upstream' | 'lifecycle' | 'audit' | 'requestId'
>

export interface SuccessorNamed {
  certificate_id: string
  successor_id: string
  services: string[]
  /** Whether a delete of the old one would pass the gate now, and why not. */
  ready: boolean
  problem: string | null
}

export function nameSuccessor(
  deps: Deps,
  input: { accountId: string; certificateId: string; successorId: string },
  nowMs: number = Date.now(),
): Promise<Outcome<SuccessorNamed>> {
  const { accountId, certificateId, successorId } = input
  return run({ accountId, certificateId }, async (found) => {
    deps.who.requireAccount(accountId, GatewayError.of('ACCOUNT_NOT_FOUND'))
    if (successorId === certificateId) {
      throw GatewayError.of('SUCCESSOR_IS_ITSELF', { pointer: '/successor_id' })
    }
    const owner = await deps.ledger.owner(accountId, certificateId)
    const facts = { ownerTeam: owner?.team ?? null }
    deps.who.requireVisible(found, facts)
    deps.who.requireAllowed(found, 'upload', facts)
    const successorOwner = await deps.ledger.owner(accountId, successorId)
    if (deps.who.decide('get', { ownerTeam: successorOwner?.team ?? null }).effect === 'deny') {
      throw GatewayError.of('SUCCESSOR_NOT_FOUND')
    }
    const services = (
      await deps.upstream.call(upstreamRequests.associations(accountId, certificateId))
    ).result.map((a) => a.service ?? 'unknown')
    const pairing = {
      certificate_id: certificateId,
      successor_id: successorId,
      services: [...new Set(services)],
      named_by: deps.principal.memberId,
      named_at: nowMs,
    }
    // The naming's check is kept with the pairing: the expiring list shows it until the next one.
    const check = await checkSuccessor(deps.upstream, accountId, pairing, nowMs, 'named')
    if (check.reason === 'missing') throw GatewayError.of('SUCCESSOR_NOT_FOUND')
    const problem = problemOf(pairing, check)
    await deps.audit.beforeChange(found)
    await deps.lifecycle.notices.pair(accountId, { ...pairing, check })
    return {
      certificate_id: certificateId,
      successor_id: successorId,
      services: pairing.services,
      ready: problem === undefined,
      problem: problem ?? null,
    }
  })
}
