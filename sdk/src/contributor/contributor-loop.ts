import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  type Capabilities,
  type CustomLease,
  type Frame,
  type Lease,
  packBuffers,
  packTensors,
  readBuffer,
  readTensor,
  sendWorkRequest,
  sha256Hex,
  WORK_PROTOCOL,
  type WorkRequest,
  type WorkResponse,
  walletProofTypedData,
} from '@tabswarm/relay/protocol'
import type { CustomKernelRequest } from '@tabswarm/worker-kernels'
import type { ContributorEvent } from './contributor-events.ts'
import { measureMatmulGflops } from './measure-speed.ts'

/** Runs kernels for the loop: a comlink-wrapped worker in a tab, the dawn host in Node. */
export interface KernelExecutor {
  matmul(
    req: { a: Float32Array; b: Float32Array; m: number; k: number; n: number },
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<Float32Array>
  /**
   * Runs a researcher's WGSL program (the kernel host's `custom`). Without it the loop runs
   * matmul only; list `custom` in `capabilities.kernels` to be offered custom tasks.
   */
  custom?(
    req: CustomKernelRequest,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<ArrayBufferView[]>
}

const TYPED: Record<
  CustomLease['inputs'][number]['dtype'],
  (bytes: Uint8Array) => ArrayBufferView
> = {
  float32: (b) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4),
  float16: (b) => new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2),
  int32: (b) => new Int32Array(b.buffer, b.byteOffset, b.byteLength / 4),
  uint32: (b) => new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4),
}

/** A wallet that proves itself in hello: a viem `LocalAccount` fits. */
export interface ContributorWallet {
  address: `0x${string}`
  signTypedData(typedData: ReturnType<typeof walletProofTypedData>): Promise<`0x${string}`>
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
  /**
   * Measured matmul speed sent in hello, GFLOP/s; `undefined` measures it once at start with
   * a small product on the executor, `false` sends none.
   */
  gflops?: number | false
  /** The wallet credited for verified work; without one, credit goes to the peer id. */
  wallet?: ContributorWallet
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
    const stopRenewing = keepLeaseAlive(lease)
    try {
      output = await executor.matmul(
        { a: readTensor(payload, slotA), b: readTensor(payload, slotB), m, k, n },
        { signal, timeoutMs: lease.expiresInMs },
      )
    } catch (err) {
      if (signal.aborted) throw err
      emit({ type: 'task-failed', taskId: lease.taskId, error: (err as Error).message })
      await reportError(lease.leaseId, err)
      return
    } finally {
      stopRenewing()
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

  /** Tells the relay the task could not run, so it is not left to expire. */
  async function reportError(leaseId: string, err: unknown): Promise<void> {
    const error = err as { name?: unknown; code?: unknown; message?: unknown }
    const code = String(error.code ?? error.name ?? 'Error').slice(0, 64)
    try {
      await exchange({
        type: 'task-error',
        leaseId,
        code,
        message: String(error.message ?? err).slice(0, 500),
      })
    } catch {
      // The lease expires on its own if the relay cannot hear us.
    }
  }

  /** Keeps the lease alive while a long task runs: renews at half its remaining time. */
  function keepLeaseAlive(lease: { leaseId: string; expiresInMs: number }): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined
    let stopped = false
    const schedule = (inMs: number) => {
      timer = setTimeout(renew, Math.max(inMs / 2, 250))
    }
    const renew = async () => {
      try {
        const { header } = await exchange({ type: 'lease-renew', leaseId: lease.leaseId })
        if (!stopped && header.type === 'lease-renewed' && header.outcome === 'renewed')
          schedule(header.expiresInMs)
      } catch {
        // The result is sent anyway; a lost renewal only risks a stale lease.
      }
    }
    schedule(lease.expiresInMs)
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }

  let gflops: number | undefined = options.gflops === false ? undefined : options.gflops
  if (options.gflops === undefined && !signal.aborted) {
    try {
      gflops = await measureMatmulGflops(executor, { signal })
    } catch {
      // No figure then: the coordinator assumes a default speed, and a broken GPU shows on the first task.
      if (signal.aborted) return summary
    }
  }

  async function hello(): Promise<WorkRequest> {
    const request: WorkRequest = { type: 'hello', capabilities: options.capabilities }
    if (gflops != null) request.benchmark = { gflops }
    if (options.wallet != null) {
      const timestamp = Math.floor(Date.now() / 1000)
      const signature = await options.wallet.signTypedData(
        walletProofTypedData(node.peerId.toString(), timestamp),
      )
      request.wallet = { address: options.wallet.address, timestamp, signature }
    }
    return request
  }

  async function computeCustom(lease: CustomLease, payload: Uint8Array): Promise<void> {
    if (executor.custom == null) throw new Error('offered a custom task without a custom executor')
    emit({ type: 'task-started', taskId: lease.taskId, jobId: lease.jobId, flops: 0 })
    const started = performance.now()
    const stopRenewing = keepLeaseAlive(lease)
    let outputs: ArrayBufferView[]
    try {
      outputs = await executor.custom(
        {
          program: {
            wgsl: lease.program.wgsl,
            inputs: lease.program.inputs,
            outputs: lease.program.outputs,
            ...(lease.program.entryPoint != null ? { entryPoint: lease.program.entryPoint } : {}),
          },
          inputs: lease.inputs.map((slot) => TYPED[slot.dtype](readBuffer(payload, slot))),
          outputs: lease.outputs.map((o) => ({ length: o.shape.reduce((p, d) => p * d, 1) })),
          workgroups: lease.workgroups,
          ...(lease.params != null
            ? { params: Uint8Array.from(atob(lease.params), (ch) => ch.charCodeAt(0)) }
            : {}),
        },
        { signal, timeoutMs: lease.expiresInMs },
      )
    } catch (err) {
      if (signal.aborted) throw err
      emit({ type: 'task-failed', taskId: lease.taskId, error: (err as Error).message })
      await reportError(lease.leaseId, err)
      return
    } finally {
      stopRenewing()
    }
    const elapsedMs = performance.now() - started
    const { slots, payload: body } = packBuffers(
      outputs.map((out, i) => ({
        name: lease.program.outputs[i]?.name ?? `out${i}`,
        dtype: lease.outputs[i]!.dtype,
        shape: lease.outputs[i]!.shape,
        bytes: new Uint8Array(out.buffer, out.byteOffset, out.byteLength),
      })),
    )
    const ack = await exchange(
      {
        type: 'custom-result',
        leaseId: lease.leaseId,
        outputs: slots,
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
        await exchange(await hello())
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
      } else if (header.type === 'custom-lease') {
        await computeCustom(header, payload)
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
