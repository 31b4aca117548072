import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  type Capabilities,
  type Frame,
  type Lease,
  packTensors,
  readTensor,
  sendWorkRequest,
  sha256Hex,
  WORK_PROTOCOL,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/relay/protocol'
import type { ContributorEvent } from './contributor-events.ts'

/** Runs kernels for the loop: a comlink-wrapped worker in a tab, the dawn host in Node. */
export interface KernelExecutor {
  matmul(
    req: { a: Float32Array; b: Float32Array; m: number; k: number; n: number },
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<Float32Array>
}

export interface ContributorOptions {
  node: Libp2p
  /** The relay/coordinator to pull work from. */
  relay: Multiaddr
  capabilities: Capabilities
  executor: KernelExecutor
  signal: AbortSignal
  onEvent?: (event: ContributorEvent) => void
  /** Stop after this many tasks. @default Infinity */
  maxTasks?: number
  /** Timeout of one request/response exchange with the relay. @default 30_000 */
  requestTimeoutMs?: number
  /** Longest wait between retries while the relay is unreachable. @default 30_000 */
  maxBackoffMs?: number
}

export interface ContributorSummary {
  tasks: number
  accepted: number
  rejected: number
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
    function done() {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
  })
}

/**
 * The contributor side of the work protocol: introduce ourselves, then lease, compute and
 * return tasks until stopped. Shared by contributor tabs and the headless Node worker, so
 * both are verified the same way. Survives relay restarts by re-dialling with backoff.
 */
export async function runContributor(options: ContributorOptions): Promise<ContributorSummary> {
  const { node, relay, executor, signal } = options
  const emit = options.onEvent ?? (() => {})
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000
  const maxBackoffMs = options.maxBackoffMs ?? 30_000
  const maxTasks = options.maxTasks ?? Number.POSITIVE_INFINITY
  const summary: ContributorSummary = { tasks: 0, accepted: 0, rejected: 0 }

  async function exchange(
    request: WorkRequest,
    payload?: Uint8Array,
  ): Promise<Frame<WorkResponse>> {
    const timeout = AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)])
    const stream = await node.dialProtocol(relay, WORK_PROTOCOL, { signal: timeout })
    const response = await sendWorkRequest(stream, request, payload, { signal: timeout })
    if (response.header.type === 'error') {
      throw new Error(
        `relay refused ${request.type}: ${response.header.code}: ${response.header.message}`,
      )
    }
    return response
  }

  async function compute(lease: Lease, payload: Uint8Array): Promise<void> {
    const [slotA, slotB] = lease.inputs
    if (slotA == null || slotB == null) throw new Error('matmul lease must carry inputs a and b')
    const { m, k, n } = lease.args
    emit({ type: 'task-started', taskId: lease.taskId, jobId: lease.jobId, flops: 2 * m * k * n })
    const started = performance.now()
    let output: Float32Array
    try {
      output = await executor.matmul(
        { a: readTensor(payload, slotA), b: readTensor(payload, slotB), m, k, n },
        { signal, timeoutMs: lease.expiresInMs },
      )
    } catch (err) {
      if (signal.aborted) throw err
      emit({ type: 'task-failed', taskId: lease.taskId, error: (err as Error).message })
      return
    }
    const elapsedMs = performance.now() - started
    const { slots, payload: body } = packTensors([{ name: 'c', shape: [m, n], data: output }])
    const ack = await exchange(
      {
        type: 'result',
        leaseId: lease.leaseId,
        output: slots[0]!,
        sha256: await sha256Hex(body),
        elapsedMs,
      },
      body,
    )
    if (ack.header.type !== 'result-ack')
      throw new Error(`expected result-ack, got ${ack.header.type}`)
    summary.tasks++
    if (ack.header.outcome === 'accepted') summary.accepted++
    else if (ack.header.outcome === 'rejected') summary.rejected++
    emit({
      type: 'task-finished',
      taskId: lease.taskId,
      outcome: ack.header.outcome,
      elapsedMs,
      ...(ack.header.reason != null ? { reason: ack.header.reason } : {}),
    })
  }

  let introduced = false
  let backoffMs = 500
  while (!signal.aborted && summary.tasks < maxTasks) {
    try {
      if (!introduced) {
        await exchange({ type: 'hello', capabilities: options.capabilities })
        introduced = true
        emit({ type: 'connected', relay: relay.toString() })
      }
      const { header, payload } = await exchange({ type: 'lease-request' })
      backoffMs = 500
      if (header.type === 'no-work') {
        emit({ type: 'idle', retryAfterMs: header.retryAfterMs })
        await sleep(header.retryAfterMs, signal)
      } else if (header.type === 'lease') {
        await compute(header, payload)
      } else {
        throw new Error(`expected lease or no-work, got ${header.type}`)
      }
    } catch (err) {
      if (signal.aborted) break
      // The relay may have restarted and forgotten us: introduce ourselves again.
      introduced = false
      emit({ type: 'relay-error', error: (err as Error).message, retryInMs: backoffMs })
      await sleep(backoffMs, signal)
      backoffMs = Math.min(backoffMs * 2, maxBackoffMs)
    }
  }
  return summary
}
