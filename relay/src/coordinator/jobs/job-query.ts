import type { CoordinatorStore } from '../../store/coordinator-store.ts'
import { accountKey } from '../contributors/account-key.ts'
import type { JobQuery } from '../coordinator-api.ts'
import { CoordinatorError } from '../coordinator-error.ts'

/** What `JobQuery.idPrefix` may be: the start of a job id. */
const ID_PREFIX = /^[A-Za-z0-9_-]{1,64}$/

/**
 * A researcher's job listing query, checked: the page size (1..500, 50 by default) and the
 * store query it reads (owner as an account key, status, id prefix, and the `seq` before
 * which the page starts). Throws `INVALID_JOB` naming a cursor or prefix that is not one.
 */
export function parseJobQuery(query: JobQuery): {
  limit: number
  store: Omit<Parameters<CoordinatorStore['listJobs']>[0], 'limit'>
} {
  const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 50)), 500)
  let before: number | undefined
  if (query.cursor != null) {
    before = Number(query.cursor)
    if (!Number.isSafeInteger(before) || before < 0)
      throw new CoordinatorError(
        'INVALID_JOB',
        `cursor: "${String(query.cursor).slice(0, 40)}" is not a cursor this coordinator issued`,
      )
  }
  const idPrefix = query.idPrefix
  if (idPrefix != null && (typeof idPrefix !== 'string' || !ID_PREFIX.test(idPrefix)))
    throw new CoordinatorError(
      'INVALID_JOB',
      `idPrefix: "${String(idPrefix).slice(0, 40)}" is not the start of a job id (1-64 of [A-Za-z0-9_-])`,
    )
  return {
    limit,
    store: {
      ...(query.owner != null ? { owner: accountKey(query.owner) } : {}),
      ...(query.status != null ? { status: query.status } : {}),
      ...(idPrefix != null ? { idPrefix } : {}),
      ...(before != null ? { before } : {}),
    },
  }
}
