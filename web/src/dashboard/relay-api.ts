import {
  type JobDetail,
  JobDetailSchema,
  type NetworkStats,
  NetworkStatsSchema,
} from '@tabswarm/protocol'
import { REQUEST_TIMEOUT_MS } from './timeouts.ts'

/**
 * The few relay routes the SDK's client does not wrap yet (`/v1/jobs/:id/detail`,
 * `/v1/stats`, the matmul product as `.npy`), called with the same credentials. Until the
 * SDK gains `jobDetail` and `stats`, this is the one place the dashboard speaks HTTP itself.
 * A route the relay does not have (an older relay) answers `undefined`, not an error, so
 * the page shows what it can.
 */
export interface RelayApi {
  /** The job in detail, or undefined where the relay has no `/detail` route. */
  detail(id: string, signal?: AbortSignal): Promise<JobDetail | undefined>
  /** The relay's public figures, or undefined where it publishes none. */
  stats(signal?: AbortSignal): Promise<NetworkStats | undefined>
  /** Contributors online as `GET /v1/health` counts them, for a relay without `/v1/stats`. */
  contributorsOnline(signal?: AbortSignal): Promise<number | undefined>
  /** A completed matmul's product C as `.npy` bytes. */
  matmulOutput(id: string, signal?: AbortSignal): Promise<Uint8Array>
}

/** An answer of the relay that is an error: its status, code and message. */
export class RelayCallError extends Error {
  override name = 'RelayCallError'
  readonly status: number
  readonly code: string
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export function relayApi(base: string, bearer: () => string | undefined): RelayApi {
  async function call(path: string, signal: AbortSignal | undefined): Promise<Response> {
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const token = bearer()
    const response = await fetch(`${base}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    })
    if (response.ok || response.status === 404) return response
    let code = 'HTTP_ERROR'
    let message = `${path} answered HTTP ${response.status}`
    try {
      const body = (await response.json()) as { error?: { code?: string; message?: string } }
      code = String(body.error?.code ?? code).slice(0, 64)
      message = String(body.error?.message ?? message).slice(0, 500)
    } catch {
      // Not the API's JSON error: keep the status line.
    }
    throw new RelayCallError(response.status, code, message)
  }
  return {
    async detail(id, signal) {
      const response = await call(`/v1/jobs/${encodeURIComponent(id)}/detail`, signal)
      if (response.status === 404) {
        if (await isMissingRoute(response)) return undefined
        throw new RelayCallError(404, 'NOT_FOUND', `job ${id} not found on this relay`)
      }
      return JobDetailSchema.parse(await response.json())
    },
    async stats(signal) {
      const response = await call('/v1/stats', signal)
      if (response.status === 404) return undefined
      return NetworkStatsSchema.parse(await response.json())
    },
    async contributorsOnline(signal) {
      const response = await call('/v1/health', signal)
      const { contributorsOnline } = (await response.json()) as { contributorsOnline?: unknown }
      return typeof contributorsOnline === 'number' && Number.isSafeInteger(contributorsOnline)
        ? contributorsOnline
        : undefined
    },
    async matmulOutput(id, signal) {
      const response = await call(`/v1/jobs/${encodeURIComponent(id)}/output?format=npy`, signal)
      if (response.status === 404)
        throw new RelayCallError(404, 'NOT_FOUND', `job ${id} has no product to download`)
      return new Uint8Array(await response.arrayBuffer())
    },
  }
}

/** Whether a 404 says the relay has no such route (an older relay), not that a job is unknown. */
async function isMissingRoute(response: Response): Promise<boolean> {
  try {
    const body = (await response.clone().json()) as { error?: { message?: string } }
    return String(body.error?.message ?? '').startsWith('no route')
  } catch {
    return true
  }
}
