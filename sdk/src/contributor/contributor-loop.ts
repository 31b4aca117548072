import type { Libp2p } from '@libp2p/interface'
import {
  type Capabilities,
  encodedFrameLength,
  type Frame,
  type InputRef,
  type Lease,
  MAX_HELD_BLOBS,
  packBuffers,
  RelayRefusalError,
  resultSigningBytes,
  sha256Hex,
  type WalletProof,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/protocol'
import type { KernelRunner } from '@tabswarm/worker-kernels'
import { delay } from '../client/delay.ts'
import { untilAborted } from '../client/until-aborted.ts'
import {
  DRAIN_TIMEOUT_MS,
  LEASE_RELEASE_TIMEOUT_MS,
  MAX_RELAY_BACKOFF_MS,
  WORK_REQUEST_TIMEOUT_MS,
} from '../constants.ts'
import type { ContributorEvent } from './contributor-events.ts'
import {
  createDecoderExecutor,
  type DecoderExecutor,
  type DecoderStageFactory,
  isDecoderProgram,
} from './decoder-executor.ts'
import { DecoderTaskError } from './decoder-task-error.ts'
import { fetchTaskInputs, type InputsFetched } from './fetch-task-inputs.ts'
import type { InputSource } from './input-source.ts'
import { kernelDeadlineMs } from './kernel-deadline.ts'
import { measureMatmulGflops } from './measure-speed.ts'
import { relayInputSource } from './relay-input-source.ts'
import type { StageCacheLimits } from './stage-cache.ts'
import { kernelRequestFor, outputBuffersOf } from './task-kernel-call.ts'
import { TaskStoppedError } from './task-stopped-error.ts'
import { type RelayTarget, type WorkChannel, workChannelOver } from './work-channel.ts'

/**
 * Runs kernels for the loop: the kernel worker's client in a tab, the dawn host in Node;
 * every kernel, built-in or custom WGSL, through one `run` (worker-kernels' `KernelRunner`).
 * List `custom` in `capabilities.kernels` only where it runs custom WGSL.
 */
export type KernelExecutor = KernelRunner

/**
 * The wallet credited for verified work: proves itself in hello with a binding to the peer
 * id (`walletProofTypedData`). `bindWallet` (wallet-binding.ts) makes one from a viem
 * account; a tab with an injected wallet keeps one signed binding until it nears expiry.
 */
export interface ContributorWallet {
  address: `0x${string}`
  bind(peerId: string, signal: AbortSignal): Promise<WalletProof>
}

/** The peer a relay address names (`…/p2p/<id>`), or the address itself when it names none. */
const relayPeerOf = (address: string) => address.split('/p2p/').at(-1) ?? address

interface ContributorCommon {
  /**
   * What this contributor announces in hello. A function is read before each lease
   * request: when its answer changes (a contributor lowered its memory cap, opted out of
   * custom kernels), the loop says hello again with the new one before leasing.
   */
  capabilities: Capabilities | (() => Capabilities)
  executor: KernelExecutor
  /**
   * Stops at once: the task in flight is aborted and its lease handed back to the relay
   * (`lease-release`), so another contributor gets it without waiting for it to expire.
   */
  signal: AbortSignal
  /**
   * Stops leasing: the task in flight is finished and reported, then the loop returns. If
   * it takes longer than `drainTimeoutMs`, it is aborted and handed back as for `signal`.
   */
  drain?: AbortSignal | undefined
  /** How long a drain waits for the task in flight. @default DRAIN_TIMEOUT_MS (60 s) */
  drainTimeoutMs?: number | undefined
  onEvent?: ((event: ContributorEvent) => void) | undefined
  /** Stop after this many tasks, failed kernel runs included. @default Infinity */
  maxTasks?: number | undefined
  /** Timeout of one request/response exchange with the relay. @default WORK_REQUEST_TIMEOUT_MS (30 s) */
  requestTimeoutMs?: number | undefined
  /** Longest wait between retries while the relay is unreachable. @default MAX_RELAY_BACKOFF_MS (30 s) */
  maxBackoffMs?: number | undefined
  /**
   * Measured matmul speed sent in hello, GFLOP/s; `undefined` measures it once at start with
   * a small product on the executor, `false` sends none.
   */
  gflops?: number | false | undefined
  /** The wallet credited for verified work; without one, credit goes to the peer id. */
  wallet?: ContributorWallet | undefined
  /**
   * Awaited before each lease request: resolves when this contributor may take work now
   * (the visitor's pause, a hidden tab, a battery that discharges keep it pending). The
   * task in flight is never interrupted by it; the loop just takes no new lease until it
   * resolves. It must reject when its signal (the loop's stop or drain) aborts.
   */
  beforeLease?: ((signal: AbortSignal) => Promise<void>) | undefined
  /**
   * Binds decoder stages on this contributor's device, for `decoder-stage` and
   * `decoder-generate` leases (`createGpuDecoderStage`; tests pass
   * `createReferenceDecoderStage`). Without it a decoder lease fails as a task error
   * (`DECODER_UNSUPPORTED`): leave the decoder kernels out of `capabilities` then.
   */
  decoderStages?: DecoderStageFactory | undefined
  /** How many bound stages and KV caches are kept between decoder tasks. */
  decoderLimits?: StageCacheLimits | undefined
  /**
   * Signs with this contributor's libp2p private key (the one its peer id names):
   * `privateKey.sign(bytes)`. Every decoder result carries the signature of
   * `resultSigningBytes(taskId, sha256)`, so its activations are attributable; without a
   * signer a decoder lease fails as a task error (`RESULT_SIGNER_MISSING`).
   */
  sign?: ((bytes: Uint8Array) => Uint8Array | Promise<Uint8Array>) | undefined
}

export type ContributorOptions = ContributorCommon &
  (
    | {
        node: Libp2p
        /**
         * The relay/coordinator to pull work from: an address, or a function read at every
         * request (a tab's relay link moves it to another relay of the cluster when its own
         * goes away).
         */
        relay: RelayTarget
        /**
         * Where task inputs come from, by sha-256. @default the relay's blob protocol
         * over `node` (`relayInputSource`), uncached, announcing no holds
         */
        inputs?: InputSource | undefined
      }
    | {
        /** How to reach the relay, instead of `node` and `relay` (tests pass a fake). */
        channel: WorkChannel
        /** Where task inputs come from, by sha-256. */
        inputs: InputSource
      }
  )

export interface ContributorSummary {
  /** Tasks whose result went to the relay, or whose lease ended before they finished. */
  tasks: number
  /** Results accepted, at once or later by a verdict on a `pending` one (`task-verdict`). */
  accepted: number
  /** Results rejected, at once or later by a verdict on a `pending` one. */
  rejected: number
  /**
   * Tasks that failed, reported to the relay as task errors: kernel runs that failed, and
   * results the relay refused as malformed for their task (`result-refused`).
   */
  failed: number
  /** Tasks stopped part way and handed back to the relay. */
  released: number
}

/**
 * Results acknowledged `pending` whose verdict this loop still waits for. Past it the
 * oldest is forgotten (a relay that never sends verdicts must not grow it without end).
 */
const MAX_AWAITED_VERDICTS = 4096

/** A lease's job facts as `task-started` carries them (a copy, without absent fields). */
function jobFacts(job: NonNullable<Lease['job']>) {
  const { name, kernel, tasksAccepted, tasksTotal } = job
  return { ...(name != null ? { name } : {}), kernel, tasksAccepted, tasksTotal }
}

/** A lower-case hex sha-256, as `holds` takes them. */
const SHA256_HEX = /^[0-9a-f]{64}$/

/** Standard base64 of `bytes`, as `TaskResult.signature` takes it. */
function base64(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** What a finished kernel sends back: the result message and its payload. */
type Outcome = { request: WorkRequest; body: Uint8Array; elapsedMs: number }

/**
 * The contributor side of the work protocol: introduce ourselves, then lease, compute and
 * return tasks until stopped. Shared by contributor tabs and the headless Node worker, so
 * both are verified the same way. Survives relay restarts by re-dialling with backoff;
 * rejects with a `RelayRefusalError` (`permanent`) when the relay refuses this contributor
 * for good (a ban, a hello it cannot read, a work protocol version it does not speak),
 * since asking again would only be refused again. A result the relay refuses as malformed
 * for its task is final for that task: reported as a task error, then the loop moves on.
 *
 * Two ways to stop: `drain` finishes the task in flight first; `signal` hands it back at
 * once. A lease the relay reports stale mid-task (its job was cancelled) aborts the kernel.
 *
 * @example
 * const stop = new AbortController()
 * const drain = new AbortController()
 * const summary = await runContributor({
 *   node, relay, capabilities, executor,
 *   signal: stop.signal,
 *   drain: drain.signal, // drain.abort() on the first Ctrl-C, stop.abort() on the second
 * })
 * console.log(`${summary.accepted} accepted, ${summary.released} handed back`)
 */
export async function runContributor(options: ContributorOptions): Promise<ContributorSummary> {
  const { executor, signal, drain } = options
  const channel =
    'channel' in options ? options.channel : workChannelOver(options.node, options.relay)
  const inputs: InputSource =
    'channel' in options
      ? options.inputs
      : (options.inputs ?? relayInputSource(options.node, options.relay))
  if (inputs == null) throw new TypeError('runContributor needs `inputs` with a `channel`')
  const emit = options.onEvent ?? (() => {})
  const requestTimeoutMs = options.requestTimeoutMs ?? WORK_REQUEST_TIMEOUT_MS
  const maxBackoffMs = options.maxBackoffMs ?? MAX_RELAY_BACKOFF_MS
  const drainTimeoutMs = options.drainTimeoutMs ?? DRAIN_TIMEOUT_MS
  const maxTasks = options.maxTasks ?? Number.POSITIVE_INFINITY
  const summary: ContributorSummary = { tasks: 0, accepted: 0, rejected: 0, failed: 0, released: 0 }
  const decoder: DecoderExecutor | undefined =
    options.decoderStages != null
      ? createDecoderExecutor({
          runner: executor,
          stages: options.decoderStages,
          limits: options.decoderLimits,
        })
      : undefined
  /** Aborted by either way of stopping: no new lease is taken once it is. */
  const stopLeasing = drain ? AbortSignal.any([signal, drain]) : signal
  let inFlight: string | undefined
  /** Task ids of results acknowledged `pending`, oldest first, until their verdict comes. */
  const awaiting = new Set<string>()

  /**
   * The verdicts an answer carries, for results this loop was told were `pending`: each
   * becomes a `task-verdict` event once. Others (unknown ids, repeats) are ignored: the
   * relay's word counts only for what it said was pending.
   */
  function noteVerdicts(header: WorkResponse): void {
    if (!('verdicts' in header) || header.verdicts == null) return
    for (const { taskId, outcome } of header.verdicts) {
      if (!awaiting.delete(taskId)) continue
      if (outcome === 'accepted') summary.accepted++
      else summary.rejected++
      emit({ type: 'task-verdict', taskId, outcome })
    }
  }

  function awaitVerdict(taskId: string): void {
    awaiting.delete(taskId)
    awaiting.add(taskId)
    if (awaiting.size > MAX_AWAITED_VERDICTS)
      awaiting.delete(awaiting.values().next().value as string)
  }

  const onDrain = () => emit({ type: 'draining', ...(inFlight ? { taskId: inFlight } : {}) })
  drain?.addEventListener('abort', onDrain, { once: true })

  async function exchange(
    request: WorkRequest,
    payload?: Uint8Array,
    exchangeSignal = AbortSignal.any([signal, AbortSignal.timeout(requestTimeoutMs)]),
  ): Promise<Frame<WorkResponse>> {
    const response = await channel.exchange(request, payload, exchangeSignal)
    if (response.header.type === 'error') {
      throw new RelayRefusalError(request.type, response.header.code, response.header.message)
    }
    return response
  }

  /** Hands a lease back; on its own timeout, since `signal` may be aborted already. */
  async function release(leaseId: string): Promise<void> {
    try {
      await exchange(
        { type: 'lease-release', leaseId },
        undefined,
        AbortSignal.timeout(LEASE_RELEASE_TIMEOUT_MS),
      )
    } catch {
      // The lease expires on its own if the relay cannot hear us.
    }
  }

  /** Tells the relay the task could not run, so it is not left to expire. */
  async function reportError(leaseId: string, err: unknown): Promise<void> {
    const error = err as { name?: unknown; code?: unknown; message?: unknown }
    const code = String(error.code ?? error.name ?? 'Error').slice(0, 64)
    try {
      const ack = await exchange({
        type: 'task-error',
        leaseId,
        code,
        message: String(error.message ?? err).slice(0, 500),
      })
      noteVerdicts(ack.header)
    } catch {
      // The lease expires on its own if the relay cannot hear us.
    }
  }

  /**
   * Keeps the lease alive while a long task runs: renews at half its remaining time, and
   * calls `onLost` when the relay says the lease is over, so the kernel stops computing
   * a result nobody will take.
   */
  function keepLeaseAlive(
    lease: { leaseId: string; expiresInMs: number },
    onLost: () => void,
  ): () => void {
    let timer: ReturnType<typeof setTimeout> | undefined
    let stopped = false
    let expiresAt = performance.now() + lease.expiresInMs
    const schedule = () => {
      timer = setTimeout(renew, Math.max((expiresAt - performance.now()) / 2, 250))
    }
    const renew = async () => {
      try {
        const { header } = await exchange({ type: 'lease-renew', leaseId: lease.leaseId })
        if (stopped || header.type !== 'lease-renewed') return
        if (header.outcome === 'stale') return onLost()
        expiresAt = performance.now() + header.expiresInMs
        schedule()
      } catch {
        // A lost renewal is retried while the lease has time left; the result is sent anyway.
        if (!stopped && expiresAt - performance.now() > 500) schedule()
      }
    }
    schedule()
    return () => {
      stopped = true
      clearTimeout(timer)
    }
  }

  /**
   * The one path of every task: fetch its inputs, run its kernel, pack its outputs. Both
   * steps share the kernel deadline, counted from the grant: what fetching takes, the
   * kernel does not get.
   */
  async function runTask(
    lease: Lease,
    payload: Uint8Array,
    taskSignal: AbortSignal,
  ): Promise<Outcome> {
    const granted = performance.now()
    const deadlineMs = kernelDeadlineMs(lease.expiresInMs)
    if (isDecoderProgram(lease.program))
      return runDecoderTask(lease, taskSignal, granted, deadlineMs)
    const { buffers, fetched } = await fetchTaskInputs(lease.inputs, inputs, {
      signal: taskSignal,
      timeoutMs: deadlineMs,
    })
    emit({
      type: 'inputs-fetched',
      taskId: lease.taskId,
      bytes: { ...fetched.bytes },
      fallbacks: fetched.fallbacks,
      elapsedMs: fetched.elapsedMs,
    })
    const request = kernelRequestFor(lease, payload, buffers)
    const started = performance.now()
    const output = await executor.run(request, {
      signal: taskSignal,
      timeoutMs: Math.max(1, Math.floor(deadlineMs - (started - granted))),
    })
    const elapsedMs = performance.now() - started
    const { slots, payload: body } = packBuffers(outputBuffersOf(lease, output))
    const result: WorkRequest = {
      type: 'result',
      leaseId: lease.leaseId,
      outputs: slots,
      sha256: await sha256Hex(body),
      elapsedMs,
    }
    return sendableOutcome(result, body, elapsedMs)
  }

  /**
   * A decoder task on the same path: inputs fetched (hash-checked, within the same
   * deadline) as the executor asks for them (weights only when it binds a stage, the
   * prefix only when its KV cache misses), outputs packed into one result, signed. A
   * stage's `hidden` output is kept by the input source, which serves it to the tab that
   * runs the next stage.
   */
  async function runDecoderTask(
    lease: Lease,
    taskSignal: AbortSignal,
    granted: number,
    deadlineMs: number,
  ): Promise<Outcome> {
    if (decoder == null)
      throw new DecoderTaskError(
        'DECODER_UNSUPPORTED',
        `this contributor cannot run ${lease.program.kind} tasks (no decoder stage factory): leave the decoder kernels out of its capabilities`,
      )
    const sign = options.sign
    if (sign == null)
      throw new DecoderTaskError(
        'RESULT_SIGNER_MISSING',
        `a ${lease.program.kind} result must be signed with the contributor's libp2p key, and this contributor has no signer: pass \`sign\` to runContributor`,
      )
    const remainingMs = () => deadlineMs - (performance.now() - granted)
    const fetched: InputsFetched = {
      bytes: { cache: 0, peer: 0, relay: 0 },
      fallbacks: 0,
      elapsedMs: 0,
    }
    const fetch = async (refs: readonly InputRef[]) => {
      const got = await fetchTaskInputs(refs, inputs, {
        signal: taskSignal,
        timeoutMs: Math.max(1, remainingMs()),
        includeLazy: true,
      })
      for (const origin of ['cache', 'peer', 'relay'] as const)
        fetched.bytes[origin] += got.fetched.bytes[origin]
      fetched.fallbacks += got.fetched.fallbacks
      fetched.elapsedMs += got.fetched.elapsedMs
      return got.buffers as Uint8Array[]
    }
    const started = performance.now()
    const { outputs } = await decoder.run(lease, { fetch, signal: taskSignal, remainingMs })
    const elapsedMs = performance.now() - started
    emit({
      type: 'inputs-fetched',
      taskId: lease.taskId,
      bytes: { ...fetched.bytes },
      fallbacks: fetched.fallbacks,
      elapsedMs: fetched.elapsedMs,
    })
    const { slots, payload: body } = packBuffers(outputs)
    const sha256 = await sha256Hex(body)
    const signature = await sign(resultSigningBytes(lease.taskId, sha256))
    const hidden = outputs.find((out) => out.name === 'hidden')
    if (hidden != null && inputs.keep != null) {
      // Own the bytes: the payload's buffer is sent and may be reused by the transport.
      const bytes = new Uint8Array(hidden.bytes)
      inputs.keep(await sha256Hex(bytes), bytes)
    }
    const result: WorkRequest = {
      type: 'result',
      leaseId: lease.leaseId,
      outputs: slots,
      sha256,
      elapsedMs,
      signature: base64(signature),
    }
    return sendableOutcome(result, body, elapsedMs)
  }

  /**
   * The result as it will be sent, checked against the frame's limits here, inside the
   * task: a result too large to encode is the task's failure (reported as a task error),
   * never a relay error to retry by leasing the same task again.
   */
  function sendableOutcome(request: WorkRequest, body: Uint8Array, elapsedMs: number): Outcome {
    encodedFrameLength(request, body.byteLength)
    return { request, body, elapsedMs }
  }

  /** Runs one leased task to its reported end: a result, a task error, stale, or handed back. */
  async function work(lease: Lease, payload: Uint8Array): Promise<void> {
    const task = new AbortController()
    const stopTask = (reason: TaskStoppedError['reason']) => {
      if (!task.signal.aborted) task.abort(new TaskStoppedError(reason))
    }
    const onStop = () => stopTask('stopped')
    let drainTimer: ReturnType<typeof setTimeout> | undefined
    const onDrainStart = () => {
      drainTimer = setTimeout(() => stopTask('drain-timeout'), drainTimeoutMs)
    }
    if (signal.aborted) onStop()
    else signal.addEventListener('abort', onStop, { once: true })
    if (drain?.aborted) onDrainStart()
    else drain?.addEventListener('abort', onDrainStart, { once: true })
    const stopRenewing = keepLeaseAlive(lease, () => stopTask('lease-lost'))
    inFlight = lease.taskId
    emit({
      type: 'task-started',
      taskId: lease.taskId,
      jobId: lease.jobId,
      flops:
        lease.program.kind === 'matmul'
          ? 2 * lease.program.m * lease.program.k * lease.program.n
          : 0,
      ...(lease.job != null ? { job: jobFacts(lease.job) } : {}),
    })
    const started = performance.now()
    let outcome: Outcome
    try {
      outcome = await untilAborted(runTask(lease, payload, task.signal), task.signal)
    } catch (err) {
      const stop = task.signal.aborted ? (task.signal.reason as TaskStoppedError) : undefined
      if (stop?.reason === 'lease-lost') {
        summary.tasks++
        emit({
          type: 'task-finished',
          taskId: lease.taskId,
          outcome: 'stale',
          elapsedMs: performance.now() - started,
          reason: 'the lease ended before the task did (job cancelled or lease expired)',
        })
      } else if (stop != null) {
        await release(lease.leaseId)
        summary.released++
        emit({ type: 'task-released', taskId: lease.taskId, reason: stop.reason })
      } else {
        summary.failed++
        emit({ type: 'task-failed', taskId: lease.taskId, error: (err as Error).message })
        await reportError(lease.leaseId, err)
      }
      return
    } finally {
      inFlight = undefined
      stopRenewing()
      clearTimeout(drainTimer)
      signal.removeEventListener('abort', onStop)
      drain?.removeEventListener('abort', onDrainStart)
    }
    let ack: Frame<WorkResponse>
    try {
      ack = await exchange(outcome.request, outcome.body)
    } catch (err) {
      if (signal.aborted) {
        // A hard stop while the result is on its way: hand the lease back rather than leave
        // it held until it expires. If the result did land first, the relay ignores the release.
        await release(lease.leaseId)
        summary.released++
        emit({ type: 'task-released', taskId: lease.taskId, reason: 'stopped' })
        return
      }
      // The relay refused the result's own bytes (too large for its task, a hash that does
      // not match, a header it cannot read): sending it again gets the same answer, so the
      // task is over for us. Reported as a task error, not handed back: a released task
      // comes straight back to this contributor, to fail the same way until the job ends;
      // a task error is never leased to its reporter again, costs it no fault, and fails
      // the job with the relay's reason once distinct contributors hit it (the job's doing).
      if (!(err instanceof RelayRefusalError && err.malformed)) throw err
      summary.failed++
      emit({
        type: 'result-refused',
        taskId: lease.taskId,
        code: err.code,
        reason: err.shortMessage,
      })
      await reportError(lease.leaseId, err)
      return
    }
    if (ack.header.type !== 'result-ack')
      throw new Error(`expected result-ack, got ${ack.header.type}`)
    summary.tasks++
    if (ack.header.outcome === 'accepted') summary.accepted++
    else if (ack.header.outcome === 'rejected') summary.rejected++
    if (ack.header.outcome === 'pending') awaitVerdict(lease.taskId)
    emit({
      type: 'task-finished',
      taskId: lease.taskId,
      outcome: ack.header.outcome,
      elapsedMs: outcome.elapsedMs,
      ...(ack.header.reason != null ? { reason: ack.header.reason } : {}),
    })
    // After the outcome: the same answer may already carry this result's own verdict.
    noteVerdicts(ack.header)
  }

  let gflops: number | undefined = options.gflops === false ? undefined : options.gflops
  if (options.gflops === undefined && !stopLeasing.aborted) {
    try {
      gflops = await measureMatmulGflops(executor, { signal: stopLeasing })
    } catch {
      // No figure then: the coordinator assumes a default speed, and a broken GPU shows on the first task.
    }
  }

  const capabilitiesNow = (): Capabilities =>
    typeof options.capabilities === 'function' ? options.capabilities() : options.capabilities
  /** The capabilities of the last hello the relay acknowledged, as JSON. */
  let announced: string | undefined

  async function hello(capabilities: Capabilities): Promise<WorkRequest> {
    const request: WorkRequest = { type: 'hello', capabilities }
    if (gflops != null) request.benchmark = { gflops }
    if (options.wallet != null)
      request.wallet = await options.wallet.bind(channel.peerId, options.signal)
    return request
  }

  /** A lease request announcing what this contributor can serve to peers. */
  function leaseRequest(): WorkRequest {
    if (inputs.held == null) return { type: 'lease-request' }
    let holds: string[] = []
    try {
      // Only well-formed hashes: one bad entry would get the whole request refused.
      holds = inputs
        .held()
        .filter((hash) => SHA256_HEX.test(hash))
        .slice(0, MAX_HELD_BLOBS)
    } catch {
      // A source that cannot list what it holds announces an empty cache; leasing goes on.
    }
    return { type: 'lease-request', holds }
  }

  let introduced = false
  let backoffMs = 500
  try {
    while (!stopLeasing.aborted && summary.tasks + summary.failed < maxTasks) {
      // A channel over several relays (`failoverWorkChannel`) moves on when one goes away.
      const relayBefore = channel.relay
      try {
        // Held here, between tasks, while the contributor's own gates are closed.
        if (options.beforeLease != null) {
          await options.beforeLease(stopLeasing)
          if (stopLeasing.aborted) break
        }
        const capabilities = capabilitiesNow()
        if (!introduced) {
          await exchange(await hello(capabilities))
          announced = JSON.stringify(capabilities)
          introduced = true
          emit({ type: 'connected', relay: channel.relay })
        } else if (JSON.stringify(capabilities) !== announced) {
          // Still connected: only what the coordinator may lease us changed.
          await exchange(await hello(capabilities))
          announced = JSON.stringify(capabilities)
        }
        const { header, payload } = await exchange(leaseRequest())
        backoffMs = 500
        noteVerdicts(header)
        if (header.type === 'no-work') {
          emit({ type: 'idle', retryAfterMs: header.retryAfterMs })
          // A stop ends the wait early; the loop's condition then sees it.
          await delay(header.retryAfterMs, stopLeasing).catch(() => undefined)
        } else if (header.type === 'lease') {
          // Asked for before the stop, granted after it: give it straight back.
          if (stopLeasing.aborted) {
            await release(header.leaseId)
            summary.released++
            emit({ type: 'task-released', taskId: header.taskId, reason: 'stopped' })
            break
          }
          await work(header, payload)
        } else {
          throw new Error(`expected lease or no-work, got ${header.type}`)
        }
      } catch (err) {
        // Stopping: a failed exchange is no reason to lease again.
        if (stopLeasing.aborted) break
        // Refused for good (banned): asking again would only be refused again. Say why, stop.
        if (err instanceof RelayRefusalError && err.permanent) {
          emit({ type: 'refused', code: err.code, reason: err.shortMessage })
          throw err
        }
        // The relay may have restarted and forgotten us: introduce ourselves again.
        introduced = false
        if (relayPeerOf(channel.relay) !== relayPeerOf(relayBefore)) {
          // Another relay of the cluster is to be tried: not the one that kept missing, so
          // no reason to wait as long as for it.
          emit({ type: 'relay-failover', from: relayBefore, to: channel.relay })
          backoffMs = 500
        }
        emit({ type: 'relay-error', error: (err as Error).message, retryInMs: backoffMs })
        await delay(backoffMs, stopLeasing).catch(() => undefined)
        backoffMs = Math.min(backoffMs * 2, maxBackoffMs)
      }
    }
  } finally {
    drain?.removeEventListener('abort', onDrain)
    decoder?.clear()
  }
  return summary
}
