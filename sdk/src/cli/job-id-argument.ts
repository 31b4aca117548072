import type { TabswarmClient } from '../client/client.ts'
import { ApiRequestError } from '../client/client-errors.ts'
import { UsageError } from './usage-error.ts'

/** A job id or a prefix of one, as the relay takes them (`JobIdSchema`, `?idPrefix=`). */
const JOB_ID = /^[A-Za-z0-9_-]{1,64}$/

/** Ambiguous prefixes list at most this many of the jobs they match. */
const MAX_LISTED = 5

/**
 * The id of the caller's job that `text` names: the whole id, or a prefix of exactly one, as
 * git takes commit prefixes. A malformed argument, a prefix of none and an ambiguous prefix
 * are each a `UsageError` (exit 2) that says which; one request when `text` is a whole id.
 *
 * @example
 * const id = await resolveJobId(client, '3f2a', signal) // '3f2a9c04-…'
 */
export async function resolveJobId(
  client: TabswarmClient,
  text: string,
  signal: AbortSignal,
): Promise<string> {
  if (!JOB_ID.test(text))
    throw new UsageError(
      `not a job id: "${text.slice(0, 80)}" (a job id, or the start of one: 1 to 64 letters, digits, '_' or '-')`,
    )
  try {
    return (await client.getJob(text, { signal })).id
  } catch (err) {
    if (!(err instanceof ApiRequestError && err.status === 404)) throw err
  }
  let listed: Awaited<ReturnType<typeof client.listJobs>>
  try {
    listed = await client.listJobs({ idPrefix: text, limit: MAX_LISTED + 1, signal })
  } catch (err) {
    // A relay that predates `idPrefix` refuses the query: whole ids only there.
    if (err instanceof ApiRequestError && err.status === 400)
      throw new UsageError(`no job with id ${text} (this relay takes whole job ids only)`)
    throw err
  }
  // Checked here too: the relay's answer is not trusted to have filtered.
  const matches = listed.map((job) => job.id).filter((id) => id.startsWith(text))
  if (matches.length === 0) throw new UsageError(`no job starting with ${text}`)
  if (matches.length > 1)
    throw new UsageError(
      `ambiguous: ${text} matches ${matches.slice(0, MAX_LISTED).join(', ')}${matches.length > MAX_LISTED ? ', ...' : ''}; give more of the id`,
    )
  return matches[0]!
}
