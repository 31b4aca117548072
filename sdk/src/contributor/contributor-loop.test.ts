import {
  encodeFrame,
  MAX_MESSAGE_BYTES,
  RelayRefusalError,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import type { ContributorEvent } from './contributor-events.ts'
import { type KernelExecutor, runContributor } from './contributor-loop.ts'
import { fakeInputs, matmulLease, matmulOperands, matmulRunner } from './testing/fake-work.ts'
import type { WorkChannel } from './work-channel.ts'

const capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: 'fake' },
  features: [],
  limits: {},
  kernels: ['matmul'],
  agent: 'test',
}

/** A relay that grants matmul leases (1x1x1) and records every request it is sent. */
function fakeRelay(
  options: {
    leases?: number
    expiresInMs?: number
    renew?: 'renewed' | 'stale'
    /** Delays the answer to each lease request. */
    leaseDelayMs?: number
    /** Never acknowledges a result: the send fails only when its signal aborts. */
    holdResults?: boolean
    /** Answers each result from these in turn (then with an ack), as the relay's refusals. */
    resultAnswers?: WorkResponse[]
    /** Thrown by each result's send in turn (then acked): a connection lost mid-send. */
    resultFailures?: Error[]
  } = {},
) {
  const requests: WorkRequest[] = []
  let resultSent: () => void = () => {}
  const resultArrived = new Promise<void>((resolve) => {
    resultSent = resolve
  })
  let leases = options.leases ?? 1
  const channel: WorkChannel = {
    peerId: 'peer-test',
    relay: '/memory/relay',
    async exchange(request, _payload, signal) {
      requests.push(request)
      const answer = (header: WorkResponse, body: Uint8Array = new Uint8Array()) => ({
        header,
        payload: body,
      })
      switch (request.type) {
        case 'hello':
          return answer({ type: 'hello-ack', peerId: 'peer-test' })
        case 'lease-request': {
          if (options.leaseDelayMs) await new Promise((r) => setTimeout(r, options.leaseDelayMs))
          signal.throwIfAborted()
          if (leases <= 0) return answer({ type: 'no-work', retryAfterMs: 20 })
          const n = leases--
          const lease = await matmulLease({
            leaseId: `lease-${n}`,
            taskId: `task-${n}`,
            expiresInMs: options.expiresInMs ?? 60_000,
          })
          return answer(lease.header, lease.payload)
        }
        case 'lease-renew':
          return answer({
            type: 'lease-renewed',
            leaseId: request.leaseId,
            outcome: options.renew ?? 'renewed',
            expiresInMs: options.expiresInMs ?? 60_000,
          })
        case 'lease-release':
          return answer({ type: 'lease-released', leaseId: request.leaseId, outcome: 'released' })
        case 'result': {
          resultSent()
          const failure = options.resultFailures?.shift()
          if (failure != null) throw failure
          const refusal = options.resultAnswers?.shift()
          if (refusal != null) return answer(refusal)
          if (options.holdResults) {
            await new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
            )
          }
          return answer({ type: 'result-ack', leaseId: request.leaseId, outcome: 'accepted' })
        }
        case 'task-error':
          return answer({ type: 'result-ack', leaseId: request.leaseId, outcome: 'accepted' })
      }
    },
  }
  return { channel, requests, resultArrived, types: () => requests.map((r) => r.type) }
}

/** An executor whose matmul runs until `finish()` (or forever), recording the signal it got. */
function heldExecutor() {
  const calls: AbortSignal[] = []
  let finish: (() => void) | undefined
  let started: () => void = () => {}
  const running = new Promise<void>((resolve) => {
    started = resolve
  })
  const executor = matmulRunner((_req, { signal }) => {
    calls.push(signal!)
    started()
    return new Promise<Float32Array>((resolve) => {
      finish = () => resolve(new Float32Array([6]))
    })
  })
  return { executor, calls, running, finish: () => finish?.() }
}

function run(
  channel: WorkChannel,
  executor: KernelExecutor,
  extra: Partial<Parameters<typeof runContributor>[0]> = {},
) {
  const stop = new AbortController()
  const drain = new AbortController()
  const events: ContributorEvent[] = []
  const done = runContributor({
    channel,
    inputs: fakeInputs(matmulOperands).source,
    capabilities,
    executor,
    gflops: false,
    signal: stop.signal,
    drain: drain.signal,
    onEvent: (e) => events.push(e),
    ...extra,
  } as Parameters<typeof runContributor>[0])
  return { done, stop, drain, events }
}

describe('runContributor stopping', () => {
  it('a drain finishes and reports the task in flight, then leases nothing more', async () => {
    const relay = fakeRelay({ leases: 5 })
    const gpu = heldExecutor()
    const { done, drain, events } = run(relay.channel, gpu.executor)
    await gpu.running
    drain.abort()
    setTimeout(gpu.finish, 50)
    const summary = await done
    expect(summary).toMatchObject({ tasks: 1, accepted: 1, released: 0 })
    expect(relay.types()).toEqual(['hello', 'lease-request', 'result'])
    expect(events).toContainEqual({ type: 'draining', taskId: 'task-5' })
    expect(gpu.calls[0]!.aborted).toBe(false)
  })

  it('a drain that runs out of time aborts the kernel and hands the lease back', async () => {
    const relay = fakeRelay()
    const gpu = heldExecutor()
    const { done, drain, events } = run(relay.channel, gpu.executor, { drainTimeoutMs: 100 })
    await gpu.running
    drain.abort()
    const summary = await done
    expect(summary).toMatchObject({ tasks: 0, released: 1 })
    expect(relay.requests.at(-1)).toEqual({ type: 'lease-release', leaseId: 'lease-1' })
    expect(relay.types()).not.toContain('result')
    expect(gpu.calls[0]!.aborted).toBe(true)
    expect(events).toContainEqual({
      type: 'task-released',
      taskId: 'task-1',
      reason: 'drain-timeout',
    })
  })

  it('a hard stop hands the lease back at once, even from an executor that cannot cancel', async () => {
    const relay = fakeRelay()
    const gpu = heldExecutor()
    const { done, stop } = run(relay.channel, gpu.executor)
    await gpu.running
    const stoppedAt = performance.now()
    stop.abort()
    const summary = await done
    expect(performance.now() - stoppedAt).toBeLessThan(1_000)
    expect(summary.released).toBe(1)
    expect(relay.requests.at(-1)).toEqual({ type: 'lease-release', leaseId: 'lease-1' })
  })

  it('a hard stop while the result is being sent hands the lease back', async () => {
    const relay = fakeRelay({ holdResults: true })
    const gpu = heldExecutor()
    const { done, stop, events } = run(relay.channel, gpu.executor)
    await gpu.running
    gpu.finish()
    await relay.resultArrived
    stop.abort()
    const summary = await done
    expect(summary).toMatchObject({ tasks: 0, accepted: 0, released: 1 })
    expect(relay.types()).toEqual(['hello', 'lease-request', 'result', 'lease-release'])
    expect(relay.requests.at(-1)).toEqual({ type: 'lease-release', leaseId: 'lease-1' })
    expect(events).toContainEqual({ type: 'task-released', taskId: 'task-1', reason: 'stopped' })
  })

  it('a lease granted after the drain began goes straight back, unrun', async () => {
    const relay = fakeRelay({ leaseDelayMs: 100 })
    const gpu = heldExecutor()
    const { done, drain } = run(relay.channel, gpu.executor)
    setTimeout(() => drain.abort(), 30)
    const summary = await done
    expect(summary.released).toBe(1)
    expect(gpu.calls).toHaveLength(0)
    expect(relay.types()).toEqual(['hello', 'lease-request', 'lease-release'])
  })
})

describe('runContributor tasks', () => {
  it('a renewal that comes back stale aborts the kernel; no result is sent', async () => {
    // Renewed at half the remaining time, but never sooner than 250 ms: 250 ms in.
    const relay = fakeRelay({ expiresInMs: 300, renew: 'stale' })
    const gpu = heldExecutor()
    const { done, events } = run(relay.channel, gpu.executor, { maxTasks: 1 })
    const summary = await done
    expect(gpu.calls[0]!.aborted).toBe(true)
    expect(summary).toMatchObject({ tasks: 1, accepted: 0, released: 0 })
    expect(relay.types()).toEqual(['hello', 'lease-request', 'lease-renew'])
    expect(events.find((e) => e.type === 'task-finished')).toMatchObject({ outcome: 'stale' })
  })

  it('failed kernel runs count toward maxTasks, so a broken GPU does not loop forever', async () => {
    const relay = fakeRelay({ leases: 10 })
    const broken = matmulRunner(() => Promise.reject(new Error('device lost')))
    const { done } = run(relay.channel, broken, { maxTasks: 3 })
    const summary = await done
    expect(summary).toMatchObject({ tasks: 0, failed: 3 })
    expect(relay.types().filter((t) => t === 'task-error')).toHaveLength(3)
    expect(relay.types().filter((t) => t === 'lease-request')).toHaveLength(3)
  })
})

/**
 * A channel that encodes each request as the libp2p one does before it is sent, and answers
 * hello from `helloAnswers` in turn (then with an ack), everything else as `fakeRelay` does.
 */
function encodingChannel(inner: WorkChannel, helloAnswers: WorkResponse[] = []): WorkChannel {
  return {
    peerId: inner.peerId,
    relay: inner.relay,
    async exchange(request, payload, signal) {
      encodeFrame(request, payload)
      const answer = await inner.exchange(request, payload, signal)
      const refusal = request.type === 'hello' ? helloAnswers.shift() : undefined
      return refusal != null ? { header: refusal, payload: new Uint8Array() } : answer
    },
  }
}

describe('runContributor limits and refusals', () => {
  it('reports a result too large to send as a task error, never as a relay error', async () => {
    const relay = fakeRelay({ leases: 1 })
    // A whole message's worth of output: no room is left for the header.
    const huge = matmulRunner(async () => new Float32Array(MAX_MESSAGE_BYTES / 4))
    const { done, events } = run(encodingChannel(relay.channel), huge, {
      maxTasks: 1,
      signal: AbortSignal.timeout(5_000),
    })
    const summary = await done
    expect(summary).toMatchObject({ tasks: 0, failed: 1 })
    expect(relay.types()).toEqual(['hello', 'lease-request', 'task-error'])
    expect(relay.requests[2]).toMatchObject({ type: 'task-error', code: 'MESSAGE_TOO_LARGE' })
    expect(events.filter((e) => e.type === 'relay-error')).toEqual([])
  })

  it('stops on a ban with a typed error that carries the relay code, asking once', async () => {
    const relay = fakeRelay()
    const banned: WorkResponse = {
      type: 'error',
      code: 'CONTRIBUTOR_BANNED',
      message: 'contributor peer-test is banned for faulty results (peer)',
    }
    const { done, events } = run(
      encodingChannel(relay.channel, [banned]),
      heldExecutor().executor,
      {
        signal: AbortSignal.timeout(5_000),
      },
    )
    const err = await done.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(RelayRefusalError)
    expect(err).toMatchObject({
      name: 'RelayRefusalError',
      code: 'CONTRIBUTOR_BANNED',
      request: 'hello',
    })
    expect((err as Error).message).toMatch(/banned for faulty results/)
    expect(relay.types()).toEqual(['hello'])
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'refused', code: 'CONTRIBUTOR_BANNED' }),
    )
  })

  it('retries a transient refusal, as a relay error', async () => {
    const relay = fakeRelay({ leases: 1 })
    const busy: WorkResponse = { type: 'error', code: 'INTERNAL', message: 'try again' }
    const gpu = matmulRunner(async () => new Float32Array([6]))
    const { done, events } = run(encodingChannel(relay.channel, [busy]), gpu, {
      maxTasks: 1,
      signal: AbortSignal.timeout(5_000),
    })
    expect(await done).toMatchObject({ tasks: 1, accepted: 1 })
    expect(relay.types().filter((t) => t === 'hello')).toHaveLength(2)
    expect(events.find((e) => e.type === 'relay-error')).toMatchObject({
      error: expect.stringMatching(/INTERNAL: try again/),
    })
  })
})

describe('runContributor: a result the relay refuses as malformed', () => {
  const refusals: WorkResponse[] = [
    {
      type: 'error',
      code: 'PAYLOAD_MISMATCH',
      message: 'output bytes do not match their sha256',
    },
    {
      type: 'error',
      code: 'MESSAGE_TOO_LARGE',
      message: 'a result message carries at most 4 payload bytes, this one 8',
    },
  ]

  it.each(refusals.map((r) => [r.type === 'error' ? r.code : '', r] as const))(
    '%s is final for its task: reported as a task error, said why, next lease taken',
    async (code, refusal) => {
      const relay = fakeRelay({ leases: 2, resultAnswers: [refusal] })
      const gpu = matmulRunner(async () => new Float32Array([6]))
      const { done, events } = run(relay.channel, gpu, {
        maxTasks: 2,
        signal: AbortSignal.timeout(5_000),
      })
      const summary = await done
      // One hello: the refusal is not a relay error, so nothing reconnects or backs off.
      expect(relay.types()).toEqual([
        'hello',
        'lease-request',
        'result',
        'task-error',
        'lease-request',
        'result',
      ])
      expect(relay.requests[3]).toMatchObject({
        type: 'task-error',
        leaseId: 'lease-2',
        code,
        message: expect.stringContaining(`The relay refused result: ${code}`),
      })
      expect(summary).toMatchObject({ tasks: 1, accepted: 1, failed: 1 })
      expect(events).toContainEqual({
        type: 'result-refused',
        taskId: 'task-2',
        code,
        reason: expect.stringContaining(code),
      })
      expect(events.filter((e) => e.type === 'relay-error')).toEqual([])
    },
  )

  it('still retries a transient failure to send the result (a connection lost) as a relay error', async () => {
    const relay = fakeRelay({ leases: 1, resultFailures: [new Error('connection reset')] })
    const gpu = matmulRunner(async () => new Float32Array([6]))
    const { done, events, stop } = run(relay.channel, gpu)
    // The loop says hello again and carries on; the held lease expires at the relay.
    await expect.poll(() => relay.types().filter((t) => t === 'hello').length).toBe(2)
    stop.abort()
    expect(await done).toMatchObject({ tasks: 0, failed: 0 })
    expect(relay.types()).not.toContain('task-error')
    expect(events.find((e) => e.type === 'relay-error')).toMatchObject({
      error: 'connection reset',
    })
    expect(events.filter((e) => e.type === 'result-refused')).toEqual([])
  })
})

describe('runContributor: a hello the relay cannot read', () => {
  it('stops at once with a permanent refusal that says what to update, asking once', async () => {
    const relay = fakeRelay()
    const unreadable: WorkResponse = {
      type: 'error',
      code: 'INVALID_MESSAGE',
      message: 'capabilities.limits: expected record',
    }
    const { done, events } = run(
      encodingChannel(relay.channel, [unreadable, unreadable]),
      heldExecutor().executor,
      { signal: AbortSignal.timeout(5_000) },
    )
    const err = await done.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(RelayRefusalError)
    expect(err).toMatchObject({ code: 'INVALID_MESSAGE', request: 'hello', permanent: true })
    expect((err as Error).message).toMatch(/update @tabswarm\/sdk/)
    expect(relay.types()).toEqual(['hello'])
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'refused', code: 'INVALID_MESSAGE' }),
    )
    expect(events.filter((e) => e.type === 'relay-error')).toEqual([])
  })

  it('a lease request refused as INVALID_MESSAGE is not a reason to stop (only hello is)', () => {
    const refusal = new RelayRefusalError('lease-request', 'INVALID_MESSAGE', 'bad')
    expect(refusal.permanent).toBe(false)
    expect(new RelayRefusalError('hello', 'INVALID_MESSAGE', 'bad').permanent).toBe(true)
  })
})

describe('runContributor beforeLease', () => {
  /** A gate the test opens and closes, counting how often the loop waited on it. */
  function testGate(open: boolean) {
    let opened: () => void = () => {}
    let waiting = Promise.resolve()
    const state = { waits: 0 }
    const close = () => {
      waiting = new Promise<void>((resolve) => {
        opened = resolve
      })
    }
    if (!open) close()
    const beforeLease = (signal: AbortSignal) => {
      state.waits++
      return new Promise<void>((resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true })
        waiting.then(resolve)
      })
    }
    return { beforeLease, close, open: () => opened(), state }
  }

  it('takes no lease while the gate is closed, and leases once it opens', async () => {
    const relay = fakeRelay({ leases: 1 })
    const gate = testGate(false)
    const gpu = heldExecutor()
    const { done, stop } = run(relay.channel, gpu.executor, { beforeLease: gate.beforeLease })
    await new Promise((r) => setTimeout(r, 100))
    expect(relay.types()).toEqual([])
    gate.open()
    await gpu.running
    expect(relay.types()).toEqual(['hello', 'lease-request'])
    gpu.finish()
    stop.abort()
    await done
  })

  it('lets the task in flight finish when the gate closes, then waits before the next lease', async () => {
    const relay = fakeRelay({ leases: 2 })
    const gate = testGate(true)
    const gpu = heldExecutor()
    const { done, stop, events } = run(relay.channel, gpu.executor, {
      beforeLease: gate.beforeLease,
    })
    await gpu.running
    gate.close()
    gpu.finish()
    await relay.resultArrived
    await new Promise((r) => setTimeout(r, 100))
    expect(relay.types()).toEqual(['hello', 'lease-request', 'result'])
    expect(events).toContainEqual(expect.objectContaining({ type: 'task-finished' }))
    expect(gpu.calls[0]!.aborted).toBe(false)
    expect(gate.state.waits).toBe(2)
    stop.abort()
    const summary = await done
    expect(summary).toMatchObject({ tasks: 1, accepted: 1, released: 0 })
  })

  it('a stop while waiting at the gate ends the loop without a lease', async () => {
    const relay = fakeRelay()
    const gate = testGate(false)
    const { done, drain } = run(relay.channel, heldExecutor().executor, {
      beforeLease: gate.beforeLease,
    })
    await new Promise((r) => setTimeout(r, 50))
    drain.abort()
    expect(await done).toMatchObject({ tasks: 0, released: 0 })
    expect(relay.types()).toEqual([])
  })
})

describe('runContributor capabilities that change', () => {
  it('says hello again with the new capabilities before the next lease, without reconnecting', async () => {
    const relay = fakeRelay({ leases: 2 })
    const gpu = heldExecutor()
    let kernels = ['matmul', 'custom']
    const { done, stop, events } = run(relay.channel, gpu.executor, {
      capabilities: () => ({ ...capabilities, kernels }),
    })
    await gpu.running
    kernels = ['matmul']
    gpu.finish()
    await new Promise((r) => setTimeout(r, 100))
    stop.abort()
    await done
    const hellos = relay.requests.filter((r) => r.type === 'hello')
    expect(hellos.map((h) => (h.type === 'hello' ? h.capabilities.kernels : []))).toEqual([
      ['matmul', 'custom'],
      ['matmul'],
    ])
    expect(relay.types().slice(0, 5)).toEqual([
      'hello',
      'lease-request',
      'result',
      'hello',
      'lease-request',
    ])
    expect(events.filter((e) => e.type === 'connected')).toHaveLength(1)
  })
})
