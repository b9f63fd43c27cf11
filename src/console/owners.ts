/**
 * Who owns each certificate of an account, for the certificates page's "owner" column. Read
 * through the request scope's ledger port (`scope.ledger`, the same read listCertificates makes
 * to filter the list), so the page follows the ledger wherever it is kept (the account's
 * coordinator). Fails closed like every ledger read: an owner that cannot be read is a 503
 * (the coordinator unreachable), never "unowned".
 */
import type { Findings } from '../kernel/operation'
import type { OwnershipDeps } from '../kernel/operation'

export async function ownersOf(
  deps: Pick<OwnershipDeps, 'ledger'>,
  accountId: string,
  found: Findings | undefined,
): Promise<Map<string, string>> {
  const owners = new Map((await deps.ledger.owners(accountId)).owners)
  // What the list itself just adopted is owned now, whether or not the ledger read shows it yet.
  for (const { certificate_id, team } of found?.adopted ?? []) owners.set(certificate_id, team)
  return owners
}
