import {
  type Lease,
  MAX_HELD_BLOBS,
  readBuffer,
  sha256Hex,
  type WorkRequest,
  type WorkResponse,
} from '@tabswarm/protocol'
import type { KernelRequest } from '@tabswarm/worker-kernels'
import { describe, expect, it } from 'vitest'
import type { ContributorEvent } from './contributor-events.ts'
import { type KernelExecutor, runContributor } from './contributor-loop.ts'
import { fallbackInputSource } from './fallback-input-source.ts'
import type { InputSource } from './input-source.ts'
import {
  f32,
  fakeInputs,
  matmulLease,
  matmulOperands,
  matmulRunner,
  wgslLease,
} from './testing/fake-work.ts'
import type { WorkChannel } from './work-channel.ts'

const capabilities = {
  adapter: { vendor: 'test', architecture: 'test', device: '', description: 'fake' },
  features: [],
  limits: {},
  kernels: ['matmul', 'custom'],
  agent: 'test',
}

/** A relay that grants `leases` in turn, then no work; records requests and result payloads. */
function scriptedRelay(leases: Array<{ header: Lease; payload: Uint8Array }>) {
  const requests: WorkRequest[] = []
  const results: Array<{ request: WorkRequest; payload: Uint8Array<ArrayBufferLike> }> = []
  const channel: WorkChannel = {
    peerId: 'peer-test',
    relay: '/memory/relay',
    async exchange(request, payload) {
      requests.push(request)
      const answer = (header: WorkResponse, body: Uint8Array = new Uint8Array()) => ({
        header,
        payload: body,
      })
      switch (request.type) {
        case 'hello':
          return answer({ type: 'hello-ack', peerId: 'peer-test' })
        case 'lease-request': {
          const next = leases.shift()
          return next
            ? answer(next.header, next.payload)
            : answer({ type: 'no-work', retryAfterMs: 10 })
        }
        case 'result':
          results.push({ request, payload: payload ?? new Uint8Array() })
          return answer({ type: 'result-ack', leaseId: request.leaseId, outcome: 'accepted' })
        case 'task-error':
          return answer({ type: 'result-ack', leaseId: request.leaseId, outcome: 'accepted' })
        default:
          throw new Error(`unexpected ${request.type}`)
      }
    },
  }
  return { channel, requests, results }
}

function contribute(
  channel: WorkChannel,
  inputs: InputSource,
  executor: KernelExecutor,
  maxTasks: number,
) {
  const events: ContributorEvent[] = []
  const done = runContributor({
    channel,
    inputs,
    capabilities,
    executor,
    gflops: false,
    maxTasks,
    signal: AbortSignal.timeout(10_000),
    onEvent: (e) => events.push(e),
  })
  return { done, events }
}

/** Runs matmul (a·b for 1×1) and a doubling custom kernel; records every request. */
function cpuExecutor(): KernelExecutor & { requests: KernelRequest[] } {
  const requests: KernelRequest[] = []
  return {
    requests,
    async run(request) {
      requests.push(request)
      if (request.kernel === 'matmul') {
        const a = request.a as Float32Array
        const b = request.b as Float32Array
        return Float32Array.of(a[0]! * b[0]!) as never
      }
      if (request.kernel === 'custom') {
        const x = request.inputs[0] as Float32Array
        return [Float32Array.from(x, (v) => 2 * v)] as never
      }
      throw new Error(`unexpected ${request.kernel}`)
    },
  }
}

const terms = (n: number) => ({ leaseId: `lease-${n}`, taskId: `task-${n}`, expiresInMs: 60_000 })

describe('runContributor: one path for every kernel', () => {
  it('runs a matmul and a wgsl lease alike: inputs fetched by hash, one run, one result', async () => {
    const x = { name: 'x', dtype: 'float32' as const, shape: [3], bytes: f32(1, 2, 3) }
    const relay = scriptedRelay([
      await matmulLease(terms(1)),
      await wgslLease(terms(2), [x], [{ name: 'y', dtype: 'float32', shape: [3] }]),
    ])
    const inputs = fakeInputs([...matmulOperands, x])
    const gpu = cpuExecutor()
    const { done } = contribute(relay.channel, inputs.source, gpu, 2)
    expect(await done).toMatchObject({ tasks: 2, accepted: 2, failed: 0 })

    expect(inputs.fetches.map((f) => f.ref.name)).toEqual(['a', 'b', 'x'])
    expect(inputs.fetches[0]!.ref.sha256).toBe(await sha256Hex(f32(2)))
    expect(gpu.requests[0]).toMatchObject({ kernel: 'matmul', m: 1, k: 1, n: 1 })
    expect(gpu.requests[1]).toMatchObject({
      kernel: 'custom',
      program: { wgsl: expect.stringContaining('fn main'), entryPoint: 'main' },
      outputs: [{ length: 3 }],
      workgroups: [1, 1, 1],
    })

    // Both answered by the one `result` message, outputs named as the lease declared them.
    expect(relay.results.map((r) => r.request.type)).toEqual(['result', 'result'])
    const outputs = await Promise.all(
      relay.results.map(async ({ request, payload }) => {
        if (request.type !== 'result') throw new Error('not a result')
        expect(request.sha256).toBe(await sha256Hex(payload))
        return request.outputs.map((slot) => [
          slot.name,
          [...new Float32Array(readBuffer(payload, slot).buffer)],
        ])
      }),
    )
    expect(outputs).toEqual([[['c', [6]]], [['y', [2, 4, 6]]]])
  })

  it('announces what it holds on every lease request, well-formed hashes only, at most MAX_HELD_BLOBS', async () => {
    const hashes = Array.from({ length: MAX_HELD_BLOBS + 5 }, (_, i) =>
      i.toString(16).padStart(64, '0'),
    )
    const relay = scriptedRelay([await matmulLease(terms(1))])
    const inputs = fakeInputs(matmulOperands, { held: ['not-a-hash', ...hashes] })
    const { done } = contribute(relay.channel, inputs.source, cpuExecutor(), 1)
    await done
    const leaseRequests = relay.requests.filter((r) => r.type === 'lease-request')
    expect(leaseRequests).toHaveLength(1)
    expect(leaseRequests[0]).toEqual({
      type: 'lease-request',
      holds: hashes.slice(0, MAX_HELD_BLOBS),
    })
  })

  it('announces an empty cache as holds: [] when it serves peers, so the relay knows it serves', async () => {
    const relay = scriptedRelay([await matmulLease(terms(1))])
    const inputs = fakeInputs(matmulOperands, { held: [] })
    const { done } = contribute(relay.channel, inputs.source, cpuExecutor(), 1)
    await done
    expect(relay.requests.find((r) => r.type === 'lease-request')).toEqual({
      type: 'lease-request',
      holds: [],
    })
  })

  it('sends no holds when it serves no peers (no `held`)', async () => {
    const relay = scriptedRelay([await matmulLease(terms(1))])
    const { done } = contribute(relay.channel, fakeInputs(matmulOperands).source, cpuExecutor(), 1)
    await done
    expect(relay.requests.find((r) => r.type === 'lease-request')).toEqual({
      type: 'lease-request',
    })
  })

  it('reports where the inputs came from', async () => {
    const relay = scriptedRelay([await matmulLease(terms(1))])
    const inputs = fakeInputs(matmulOperands, { from: 'peer' })
    const { done, events } = contribute(relay.channel, inputs.source, cpuExecutor(), 1)
    await done
    expect(events).toContainEqual({
      type: 'inputs-fetched',
      taskId: 'task-1',
      bytes: { cache: 0, peer: 8, relay: 0 },
      fallbacks: 0,
      elapsedMs: expect.any(Number),
    })
  })
})

describe('runContributor: inputs it cannot trust or get', () => {
  /** A source that serves the right length of the wrong bytes for every ref. */
  const liar: InputSource = {
    fetch: async (ref) => ({ bytes: new Uint8Array(ref.byteLength).fill(7), from: 'peer' }),
    held: () => [],
  }

  it('refuses wrong bytes from its only source: a task error, and no kernel run', async () => {
    const relay = scriptedRelay([await matmulLease(terms(1)), await matmulLease(terms(2))])
    const gpu = matmulRunner(async () => Float32Array.of(6))
    const { done } = contribute(relay.channel, liar, gpu, 2)
    expect(await done).toMatchObject({ tasks: 0, failed: 2 })
    expect(gpu.requests).toEqual([])
    expect(relay.requests.filter((r) => r.type === 'task-error')).toEqual([
      expect.objectContaining({ leaseId: 'lease-1', code: 'INPUT_MISMATCH' }),
      expect.objectContaining({ leaseId: 'lease-2', code: 'INPUT_MISMATCH' }),
    ])
  })

  it('falls back past a lying source to the next one, and computes on the right bytes', async () => {
    const relay = scriptedRelay([await matmulLease(terms(1))])
    const honest = fakeInputs(matmulOperands)
    const gpu = cpuExecutor()
    const { done, events } = contribute(
      relay.channel,
      fallbackInputSource([
        { name: 'liar', source: liar },
        { name: 'relay', source: honest.source },
      ]),
      gpu,
      1,
    )
    await done
    expect(events.filter((e) => e.type === 'task-failed')).toEqual([])
    expect(await done).toMatchObject({ tasks: 1, accepted: 1, failed: 0 })
    expect(gpu.requests[0]).toMatchObject({ a: Float32Array.of(2), b: Float32Array.of(3) })
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'inputs-fetched',
        bytes: { cache: 0, peer: 0, relay: 8 },
        fallbacks: 2,
      }),
    )
  })

  it('an input no source serves is a task error reported to the relay; the loop goes on', async () => {
    const relay = scriptedRelay([await matmulLease(terms(1)), await matmulLease(terms(2))])
    let calls = 0
    const flaky: InputSource = {
      async fetch(ref, options) {
        if (calls++ < 2) throw new Error('relay: not found')
        return fakeInputs(matmulOperands).source.fetch(ref, options)
      },
      held: () => [],
    }
    const { done, events } = contribute(relay.channel, flaky, cpuExecutor(), 2)
    expect(await done).toMatchObject({ tasks: 1, accepted: 1, failed: 1 })
    expect(relay.requests.find((r) => r.type === 'task-error')).toMatchObject({
      leaseId: 'lease-1',
      code: 'INPUT_UNAVAILABLE',
      message: expect.stringContaining('relay: not found'),
    })
    expect(events.filter((e) => e.type === 'relay-error')).toEqual([])
  })
})
