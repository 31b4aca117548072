import { ApiRequestError, type TabswarmClient } from '@tabswarm/sdk'

/** Whether the relay lets these credentials in, and if not, why in words. */
export type Access = { ok: true } | { ok: false; status: number; message: string }

/**
 * Asks the relay once (`GET /v1/jobs?limit=1`) whether the page's credentials work: an open
 * loopback relay answers the local account, a keyed one refuses a request without a key
 * (401) or with a wrong one. The refusal's message is the relay's own, which names the problem.
 */
export async function checkAccess(client: TabswarmClient, signal: AbortSignal): Promise<Access> {
  try {
    await client.listJobs({ limit: 1, signal })
    return { ok: true }
  } catch (err) {
    if (err instanceof ApiRequestError && (err.status === 401 || err.status === 403))
      return {
        ok: false,
        status: err.status,
        message:
          err.status === 401
            ? `This relay requires you to sign in, with an API key or your wallet (it said: ${err.message}).`
            : `This relay refused these credentials: sign in again (it said: ${err.message}).`,
      }
    throw err
  }
}
