import type { Libp2p, Stream } from '@libp2p/interface'
import {
  createByteBudget,
  encodeFrame,
  type Frame,
  MAX_MESSAGE_BYTES,
  MAX_TEXT,
  MAX_VERDICTS_PER_MESSAGE,
  NO_SITE,
  type PayloadAdmission,
  ProtocolError,
  readBuffer,
  serveWorkRequest,
  sha256Hex,
  WORK_PROTOCOL,
  type WorkReply,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/protocol'
import { isLoopbackIp } from '../coordinator/contributors/network-address.ts'
import { verifyWalletProof } from '../coordinator/contributors/wallet-proof-check.ts'
import type { LeaseGrant, WorkGateway } from '../coordinator/coordinator-api.ts'
import { CoordinatorError } from '../coordinator/coordinator-error.ts'
import type { Logger } from '../log.ts'
import { createLeaseLongPoll } from './lease-long-poll.ts'
import { leaseMessage } from './lease-message.ts'

/** The IP a connection comes from, for telling replicas' contributors apart; none when relayed or loopback. */
function remoteHost(addr: string): string | undefined {
  if (addr.includes('/p2p-circuit')) return undefined
  const host = /\/(?:ip4|ip6|dns4|dns6|dns)\/([^/]+)/.exec(addr)?.[1]
  // Loopback peers are the operator's own workers: they share an address by nature.
  if (host == null || isLoopbackIp(host) || host === 'localhost') return undefined
  return host
}

/** Aborted once `stream` is closed or reset (by either end). */
function closed(stream: Stream): AbortSignal {
  const over = new AbortController()
  if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset')
    over.abort()
  else stream.addEventListener('close', () => over.abort(), { once: true })
  return over.signal
}

export interface WorkServiceOptions {
  node: Libp2p
  coordinator: WorkGateway
  log: Logger
  /** Upper bound on serving one request, including reading a large result. @default 60_000 */
  requestTimeoutMs?: number
  /**
   * Longest silence while a request is being read (its first byte included): a stream that
   * sends nothing for this long is cut and its share of the budget freed. A slow upload
   * that keeps arriving is bounded by `requestTimeoutMs` alone.
   * @default 5_000
   */
  readIdleTimeoutMs?: number
  /** Delay suggested to a contributor when the queue is empty. @default 1_000 */
  idleRetryMs?: number
  /**
   * Longest a pipeline stage holder's lease request is held open until its next step is
   * ready (see `lease-long-poll.ts`); 0 answers it at once, to poll. @default 2_000
   */
  stageHolderWaitMs?: number
  /**
   * Work streams one connection may have open at once. Work is pulled: a contributor has
   * one request in flight, and a lease renewal may overlap it.
   * @default 2
   */
  maxStreamsPerConnection?: number
  /**
   * Bytes of request payloads (task outputs) read from all peers at once. A result reserves
   * its size before it is read; results beyond the budget wait their turn.
   * @default DEFAULT_MAX_INFLIGHT_BYTES (256 MiB)
   */
  maxInflightBytes?: number
  /**
   * Bytes of `maxInflightBytes` one peer may hold or wait for at once. An honest contributor
   * sends one result at a time, so one largest message is enough.
   * @default MAX_MESSAGE_BYTES (64 MiB)
   */
  maxInflightBytesPerPeer?: number
  /** Called with each response frame written: its type and bytes (relay egress metrics). */
  onResponseSent?: (type: WorkResponse['type'], bytes: number) => void
}

/** Bytes of result payloads read from all peers at once, unless configured. */
export const DEFAULT_MAX_INFLIGHT_BYTES = 256 * 1024 * 1024

/** Payloads up to this size (small results) never queue behind large ones. */
const SMALL_PAYLOAD_BYTES = 1024 * 1024
/** Bytes of the budget only small payloads may use, so pinned large ones cannot stall them. */
const SMALL_PAYLOAD_RESERVE = 16 * 1024 * 1024

/**
 * Serves the work protocol: contributors say hello with their capabilities, lease tasks and
 * return results, which the coordinator verifies. Runs only on direct connections: a
 * relayed connection is too small for task payloads.
 */
export async function startWorkService(options: WorkServiceOptions): Promise<() => Promise<void>> {
  const { node, coordinator, log } = options
  const requestTimeoutMs = options.requestTimeoutMs ?? 60_000
  const idleRetryMs = options.idleRetryMs ?? 1_000
  const introduced = new Set<string>()
  const readIdleTimeoutMs = options.readIdleTimeoutMs ?? 5_000
  const capacity = options.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES
  const budget = createByteBudget(capacity, {
    smallBytes: SMALL_PAYLOAD_BYTES,
    smallReserve: Math.min(SMALL_PAYLOAD_RESERVE, capacity / 4),
    maxPerHolder: options.maxInflightBytesPerPeer ?? MAX_MESSAGE_BYTES,
  })
  const longPoll = createLeaseLongPoll({
    coordinator,
    ...(options.stageHolderWaitMs != null ? { maxWaitMs: options.stageHolderWaitMs } : {}),
  })

  /** What a request's payload may be, decided on its validated header alone. */
  function admit(peerId: string, header: WorkRequest): PayloadAdmission<WorkResponse> {
    if (header.type !== 'result') return 0
    // The lease must be alive and this peer's before its output is read or hashed. Renewing
    // checks both, and keeps the lease alive while a large output uploads.
    if (coordinator.renewLease(peerId, header.leaseId) == null) {
      log.warn('result not accepted', { peer: peerId, outcome: 'stale', reason: 'lease not held' })
      return {
        answer: {
          type: 'result-ack',
          leaseId: header.leaseId,
          outcome: 'stale',
          reason: 'the lease expired or was never yours',
        },
      }
    }
    // The task decides the size, never the sizes the peer declares: a result may carry what
    // its task's outputs hold and not a byte more.
    return coordinator.resultBytes(peerId, header.leaseId) ?? 0
  }

  /**
   * A granted lease's frame, encoded once (the frame that is sent). When it cannot be
   * encoded (a task the job's limits let through but the wire cannot carry), the lease is
   * taken back and its job fails with the reason, instead of hanging with a lease nobody
   * received; undefined then.
   */
  async function encodeLease(peerId: string, grant: LeaseGrant): Promise<WorkReply | undefined> {
    const { lease, payload } = leaseMessage(grant)
    try {
      const encoded = encodeFrame(lease, payload)
      // Taken only once the lease is sure to go: a lease that cannot be sent loses none.
      const due = await committedVerdictsFor(peerId)
      if (due == null) return { response: lease, encoded }
      const withVerdicts = { ...lease, ...due }
      return { response: withVerdicts, encoded: encodeFrame(withVerdicts, payload) }
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err
      const reason = `a task of this job cannot be sent to contributors: ${err.message}`
      coordinator.failLease(peerId, grant.leaseId, reason)
      await coordinator.durable()
      log.error('lease not sendable', { peer: peerId, lease: grant.leaseId, error: err.message })
      return undefined
    }
  }

  /**
   * The verdicts due to `peerId` (its `pending` results decided since), at most
   * `MAX_VERDICTS_PER_MESSAGE`, as the field an answer spreads in; undefined when none.
   * Taken from the coordinator's queue: the rest go on the next answer.
   */
  function verdictsFor(peerId: string) {
    const verdicts = coordinator.takeVerdicts(peerId, MAX_VERDICTS_PER_MESSAGE)
    return verdicts.length > 0 ? { verdicts } : undefined
  }

  /**
   * `verdictsFor`, once what they tell is durable: they were decided while answering
   * another peer, whose acknowledgement may still wait for the commit.
   */
  async function committedVerdictsFor(peerId: string) {
    const due = verdictsFor(peerId)
    if (due != null) await coordinator.durable()
    return due
  }

  async function handle(
    peerId: string,
    remoteAddr: string,
    { header, payload }: Frame<WorkRequest>,
    /** The request's end (deadline, stream closed), made only for a request that waits. */
    ended: () => AbortSignal,
  ) {
    const reply = (response: WorkResponse, body?: Uint8Array) => ({
      response,
      ...(body ? { payload: body } : {}),
    })
    switch (header.type) {
      case 'hello': {
        if (header.wallet != null) {
          const problem = await verifyWalletProof(peerId, header.wallet, Date.now())
          if (problem != null) throw new ProtocolError('INVALID_MESSAGE', problem)
        }
        const address = remoteHost(remoteAddr)
        coordinator.registerContributor(peerId, {
          capabilities: header.capabilities,
          ...(header.benchmark != null ? { gflops: header.benchmark.gflops } : {}),
          ...(header.wallet != null
            ? {
                wallet: {
                  address: header.wallet.address,
                  // Signed with the rest of the binding: nobody else can point this share.
                  ...(header.wallet.site.toLowerCase() !== NO_SITE
                    ? { site: header.wallet.site }
                    : {}),
                },
              }
            : {}),
          ...(address != null ? { address } : {}),
        })
        introduced.add(peerId)
        log.info('contributor joined', {
          peer: peerId,
          adapter: header.capabilities.adapter.description,
          gflops: header.benchmark?.gflops,
          wallet: header.wallet?.address,
        })
        return reply({ type: 'hello-ack', peerId })
      }
      case 'lease-request': {
        if (!introduced.has(peerId)) {
          throw new ProtocolError(
            'UNEXPECTED_MESSAGE',
            'send hello with capabilities before asking for work',
          )
        }
        // A stage holder's request may be held open (bounded) until its next step is ready.
        const grant = await longPoll.lease(peerId, header.holds, ended)
        if (grant == null) {
          // Banned since its hello: say so (a typed refusal it stops on), not "no work yet".
          const refusal = coordinator.refusal(peerId)
          if (refusal != null) throw refusal
          // A peer running a pipeline stage asks again within a token's time: its next step
          // is due as soon as the stage before it is accepted.
          return reply({
            type: 'no-work',
            retryAfterMs: coordinator.retryAfterMs(peerId) ?? idleRetryMs,
            ...(await committedVerdictsFor(peerId)),
          })
        }
        return (
          (await encodeLease(peerId, grant)) ??
          reply({ type: 'no-work', retryAfterMs: 0, ...(await committedVerdictsFor(peerId)) })
        )
      }
      case 'lease-renew': {
        const renewed = coordinator.renewLease(peerId, header.leaseId)
        return reply({
          type: 'lease-renewed',
          leaseId: header.leaseId,
          outcome: renewed == null ? 'stale' : 'renewed',
          expiresInMs: renewed?.expiresInMs ?? 0,
        })
      }
      case 'lease-release': {
        // A lease already over (expired, finished, another peer's) is nothing to hand back:
        // say `stale` rather than an error, since the contributor is leaving either way.
        let outcome: 'released' | 'stale' = 'released'
        try {
          coordinator.releaseLease(peerId, header.leaseId)
        } catch (err) {
          if (!(err instanceof CoordinatorError && err.code === 'LEASE_NOT_HELD')) throw err
          outcome = 'stale'
        }
        await coordinator.durable()
        log.info('lease handed back', { peer: peerId, lease: header.leaseId, outcome })
        return reply({ type: 'lease-released', leaseId: header.leaseId, outcome })
      }
      case 'task-error': {
        const { outcome, reason } = coordinator.reportTaskError(
          peerId,
          header.leaseId,
          header.code,
          header.message,
        )
        await coordinator.durable()
        log.warn('task error reported', { peer: peerId, code: header.code, error: header.message })
        return reply({
          type: 'result-ack',
          leaseId: header.leaseId,
          outcome,
          ...(reason != null ? { reason } : {}),
          ...verdictsFor(peerId),
        })
      }
      case 'result': {
        if ((await sha256Hex(payload)) !== header.sha256) {
          throw new ProtocolError('PAYLOAD_MISMATCH', 'output bytes do not match their sha256')
        }
        // Each slot checked against its shape and the payload, and copied out aligned.
        const outputs = header.outputs.map((slot) => ({
          shape: slot.shape,
          dtype: slot.dtype,
          bytes: readBuffer(payload, slot),
        }))
        const { outcome, reason } = coordinator.submitResult(peerId, header.leaseId, outputs, {
          sha256: header.sha256,
          ...(header.signature != null ? { signature: header.signature } : {}),
        })
        // Acknowledge only what is committed: a crash after this line loses nothing we promised.
        await coordinator.durable()
        // `pending` (waiting for agreeing replicas) is routine, not worth a warning.
        if (outcome === 'rejected' || outcome === 'stale')
          log.warn('result not accepted', { peer: peerId, outcome, reason })
        // After `durable`: a verdict, like an outcome, tells only what is committed.
        return reply({
          type: 'result-ack',
          leaseId: header.leaseId,
          outcome,
          ...(reason != null ? { reason } : {}),
          ...verdictsFor(peerId),
        })
      }
    }
  }

  await node.handle(
    WORK_PROTOCOL,
    (stream, connection) => {
      const peerId = connection.remotePeer.toString()
      const remoteAddr = connection.remoteAddr.toString()
      const guarded = async (request: Frame<WorkRequest>, signal: AbortSignal) => {
        try {
          // A held lease request ends with its stream, not only at the request's deadline.
          return await handle(peerId, remoteAddr, request, () =>
            AbortSignal.any([signal, closed(stream)]),
          )
        } catch (err) {
          // Refusals the contributor should hear about (a ban, say) travel as error messages.
          if (err instanceof CoordinatorError)
            return {
              response: {
                type: 'error' as const,
                code: err.code,
                message: err.message.slice(0, MAX_TEXT),
              },
            }
          throw err
        }
      }
      serveWorkRequest(stream, guarded, {
        signal: AbortSignal.timeout(requestTimeoutMs),
        admit: (header) => admit(peerId, header),
        budget,
        holder: peerId,
        idleTimeoutMs: readIdleTimeoutMs,
        ...(options.onResponseSent != null ? { onResponseSent: options.onResponseSent } : {}),
        onProtocolError: (err) =>
          log.warn('protocol violation', { peer: peerId, code: err.code, error: err.message }),
      }).catch((err: unknown) =>
        log.warn('work stream failed', { peer: peerId, error: String(err) }),
      )
    },
    { maxInboundStreams: options.maxStreamsPerConnection ?? 2 },
  )

  const onDisconnect = (event: CustomEvent) => {
    const peerId = String(event.detail)
    if (introduced.delete(peerId)) {
      coordinator.contributorLeft(peerId)
      log.info('contributor left', { peer: peerId })
    }
  }
  node.addEventListener('peer:disconnect', onDisconnect)

  return async () => {
    // Held lease requests answer at once, so unhandling does not wait on them.
    longPoll.stop()
    node.removeEventListener('peer:disconnect', onDisconnect)
    await node.unhandle(WORK_PROTOCOL)
  }
}
