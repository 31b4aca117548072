import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { webSockets } from '@libp2p/websockets'
import type { CustomJobSpec, WorkRequest } from '@tabswarm/protocol'
import {
  alignedViewAs,
  MAX_HEADER_BYTES,
  MAX_TASK_OUTPUT_BYTES,
  MAX_VERDICTS_PER_MESSAGE,
  MAX_WGSL_CHARS,
  NO_SITE,
  packBuffers,
  readProgramSource,
  resultSigningBytes,
  sendWorkRequest,
  sha256Hex,
  WORK_PROTOCOL,
  walletProofTypedData,
} from '@tabswarm/protocol'
import { createReferenceDecoderStage, generateBatch } from '@tabswarm/worker-kernels'
import { createTestModel } from '@tabswarm/worker-kernels/test-model'
import { createLibp2p } from 'libp2p'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type BlobStore, createMemoryBlobStore } from '../blobs/blob-store.ts'
import { type Coordinator, createCoordinator } from '../coordinator/coordinator.ts'
import { silentLogger } from '../log.ts'
import { createRelayNode, type RelayNode } from './relay-node.ts'
import { startWorkService } from './work-service.ts'

const signal = () => AbortSignal.timeout(20_000)

const capabilities = {
  adapter: { vendor: 'test', architecture: 'cpu', device: '', description: 'work-service test' },
  features: [],
  limits: {},
  kernels: ['matmul', 'custom'],
  agent: 'relay/src/swarm/work-service.test',
}

/**
 * The work service over real libp2p, with a real coordinator (in-memory SQLite): the limits
 * of jobs, leases and results agree, so every job the coordinator accepts can be served.
 */
describe('the work service and the limits of a task', () => {
  let relay: RelayNode
  let client: Libp2p
  let coordinator: Coordinator
  let blobs: BlobStore
  let stop: () => Promise<void>
  let sent: Array<[string, number]> = []

  beforeAll(async () => {
    relay = await createRelayNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0/ws'],
      limits: { maxConnections: 50 },
    })
    client = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    })
  })
  afterEach(async () => {
    await stop?.()
    coordinator?.close()
  })
  afterAll(async () => {
    await client?.stop()
    await relay?.stop()
  })

  async function serve(
    options: { maxTaskInputBytes?: number; tileSize?: number; siteShareBps?: number } = {},
  ) {
    blobs = createMemoryBlobStore()
    coordinator = createCoordinator({
      blobs,
      welcomeCredits: 10n ** 12n,
      creditsPerMegaflop: 1_000_000n,
      ...options,
    })
    sent = []
    stop = await startWorkService({
      node: relay,
      coordinator,
      log: silentLogger,
      onResponseSent: (type, bytes) => sent.push([type, bytes]),
    })
  }

  async function ask(request: WorkRequest, payload?: Uint8Array) {
    const stream = await client.dialProtocol(relay.getMultiaddrs()[0]!, WORK_PROTOCOL, {
      signal: signal(),
    })
    return sendWorkRequest(stream, request, payload, { signal: signal() })
  }

  function customJob(wgsl: string, input: Uint8Array, outputShape = [4]): CustomJobSpec {
    const { hash } = blobs.put(input)
    return {
      kernel: 'custom',
      program: {
        wgsl,
        inputs: [{ name: 'x', dtype: 'float32' }],
        outputs: [{ name: 'y', dtype: 'float32' }],
      },
      tasks: [
        {
          inputs: [{ blob: hash, dtype: 'float32', shape: [input.byteLength / 4] }],
          outputs: [{ shape: outputShape, dtype: 'float32' }],
          workgroups: [1, 1, 1],
        },
      ],
      verification: { replication: 1, canaries: 0 },
    }
  }

  it('leases a program at the documented maximum source length, whatever its escaping', async () => {
    await serve()
    // Quotes, backslashes and control characters: each is escaped to 2-6 bytes in JSON.
    const body = '@compute @workgroup_size(1) fn main() {}\n//'
    const wgsl =
      body +
      '"\\\u0001'
        .repeat((MAX_WGSL_CHARS - body.length) / 3 + 1)
        .slice(0, MAX_WGSL_CHARS - body.length)
    expect(wgsl).toHaveLength(MAX_WGSL_CHARS)
    const job = await coordinator.submit(customJob(wgsl, new Uint8Array(16)), { account: 'local' })
    expect((await ask({ type: 'hello', capabilities })).header.type).toBe('hello-ack')
    const { header, payload } = await ask({ type: 'lease-request' })
    expect(header).toMatchObject({ type: 'lease', jobId: job.id, program: { kind: 'wgsl' } })
    if (header.type !== 'lease' || header.program.kind !== 'wgsl')
      throw new Error('expected a wgsl lease')
    expect(readProgramSource(payload, header.program.source)).toBe(wgsl)
    // The payload is the source and nothing else: the input travels by hash.
    expect(payload.byteLength).toBe(header.program.source.byteLength)
  })

  it('leases a matmul tile with an empty payload, naming its bands by hash and A’s by range', async () => {
    await serve({ tileSize: 2 })
    const [m, k, n] = [4, 3, 4]
    const a = Float32Array.from({ length: m * k }, (_, i) => i)
    const b = Float32Array.from({ length: k * n }, (_, i) => 100 + i)
    const job = coordinator.submitMatmul({ a, b, m, k, n })
    expect((await ask({ type: 'hello', capabilities })).header.type).toBe('hello-ack')
    const { header, payload } = await ask({ type: 'lease-request', holds: [] })
    if (header.type !== 'lease') throw new Error(`expected a lease, got ${header.type}`)
    expect(header).toMatchObject({ jobId: job.id, program: { kind: 'matmul', m: 2, k: 3, n: 2 } })
    expect(payload.byteLength).toBe(0)
    // The first tile: rows 0-1 of A (a range of A's blob) and columns 0-1 of B.
    const aBand = new Uint8Array(a.buffer, 0, 2 * k * 4)
    const bBand = Float32Array.from(
      { length: k * 2 },
      (_, i) => b[Math.floor(i / 2) * n + (i % 2)]!,
    )
    const [refA, refB] = header.inputs
    expect(refA).toEqual({
      name: 'a',
      dtype: 'float32',
      shape: [2, k],
      sha256: await sha256Hex(aBand),
      byteLength: aBand.byteLength,
      range: { blob: await sha256Hex(new Uint8Array(a.buffer)), byteOffset: 0 },
    })
    expect(refB).toMatchObject({
      name: 'b',
      shape: [k, 2],
      sha256: await sha256Hex(new Uint8Array(bBand.buffer)),
      byteLength: bBand.byteLength,
    })
    expect(refB?.range).toBeUndefined()
    expect(header.outputs).toEqual([{ name: 'c', shape: [2, 2], dtype: 'float32' }])
    // The bytes of each response are counted, the lease's among them.
    expect(sent.find(([type]) => type === 'lease')?.[1]).toBeGreaterThan(0)

    // What the contributor announces holding makes it a provider in others' leases.
    await ask({ type: 'lease-request', holds: [refA!.sha256, refB!.sha256] })
    coordinator.registerContributor('other', capabilities)
    const others = [coordinator.lease('other')!, coordinator.lease('other')!]
    // Tiles 0 and 1 went to this client; tile 2 reads the same column band of B as tile 0.
    const named = others.flatMap((g) => g.inputs).filter((r) => r.sha256 === refB!.sha256)
    expect(named.length).toBeGreaterThan(0)
    for (const ref of named) expect(ref.providers).toEqual([client.peerId.toString()])
  })

  it('fails a job whose lease cannot be encoded, with the reason, and holds no lease for it', async () => {
    // Inputs no longer travel in the lease, so no job the API accepts makes one too large:
    // a coordinator whose grant carries more uniform bytes than a header holds stands in.
    await serve()
    const job = await coordinator.submit(
      customJob('@compute @workgroup_size(1) fn main() {}', new Uint8Array(16)),
      { account: 'local' },
    )
    const real = coordinator
    const inflated: Coordinator = {
      ...real,
      lease(peerId, holds) {
        const grant = real.lease(peerId, holds)
        return grant && { ...grant, params: new Uint8Array(MAX_HEADER_BYTES) }
      },
    }
    await stop()
    stop = await startWorkService({ node: relay, coordinator: inflated, log: silentLogger })
    expect((await ask({ type: 'hello', capabilities })).header.type).toBe('hello-ack')
    const { header } = await ask({ type: 'lease-request' })
    expect(header).toMatchObject({ type: 'no-work' })
    const view = await coordinator.getJob(job.id)
    expect(view.status).toBe('failed')
    expect(view.error).toMatch(
      new RegExp(`cannot be sent to contributors: header is \\d+ bytes, max ${MAX_HEADER_BYTES}`),
    )
    expect(coordinator.stats().gauges.activeLeases).toBe(0)
  })

  it('refuses at submit a task whose outputs cannot fit one result message, naming the limit', async () => {
    await serve()
    // 80 MB of float32 output in one task.
    const spec = customJob(
      '@compute @workgroup_size(1) fn main() {}',
      new Uint8Array(16),
      [5_000, 4_000],
    )
    await expect(coordinator.submit(spec, { account: 'local' })).rejects.toMatchObject({
      code: 'INVALID_JOB',
      message: expect.stringContaining(
        `80000000 bytes, over the ${MAX_TASK_OUTPUT_BYTES}-byte limit of one result message (MAX_TASK_OUTPUT_BYTES)`,
      ),
    })
  })

  it('puts the job’s facts on a lease, and the verdicts of pending results on the next answers, at most MAX_VERDICTS_PER_MESSAGE each', async () => {
    await serve()
    const tasks = MAX_VERDICTS_PER_MESSAGE + 6
    const { hash } = blobs.put(new Uint8Array(16))
    const job = await coordinator.submit(
      {
        kernel: 'custom',
        name: 'verdicts over the wire',
        program: {
          wgsl: '@compute @workgroup_size(1) fn main() {}',
          inputs: [{ name: 'x', dtype: 'float32' }],
          outputs: [{ name: 'y', dtype: 'float32' }],
        },
        tasks: Array.from({ length: tasks }, () => ({
          inputs: [{ blob: hash, dtype: 'float32' as const, shape: [4] }],
          outputs: [{ shape: [4], dtype: 'float32' as const }],
          workgroups: [1, 1, 1] as [number, number, number],
        })),
        // By default two agreeing newcomers are needed: every first result is `pending`.
        verification: { canaries: 0 },
      },
      { account: 'local' },
    )
    const peerId = client.peerId.toString()
    const zeros = { shape: [4], dtype: 'float32' as const, bytes: new Uint8Array(16) }
    expect((await ask({ type: 'hello', capabilities })).header.type).toBe('hello-ack')
    const { header: held } = await ask({ type: 'lease-request' })
    if (held.type !== 'lease') throw new Error(`expected a lease, got ${held.type}`)
    expect(held.job).toEqual({
      name: 'verdicts over the wire',
      kernel: 'custom',
      tasksAccepted: 0,
      tasksTotal: tasks,
    })
    expect(held.verdicts).toBeUndefined()
    // The client's first results on the other tasks, all waiting for a second opinion...
    const mine: string[] = []
    for (let i = 1; i < tasks; i++) {
      const grant = coordinator.lease(peerId)!
      expect(coordinator.submitResult(peerId, grant.leaseId, [zeros]).outcome).toBe('pending')
      mine.push(grant.taskId)
    }
    // ...which another contributor agrees with: each becomes a verdict for the client.
    coordinator.registerContributor('other', capabilities)
    for (let i = 1; i < tasks; i++) {
      const grant = coordinator.lease('other')!
      expect(coordinator.submitResult('other', grant.leaseId, [zeros]).outcome).toBe('accepted')
    }
    // The client's held task's result: `pending`, and the first verdicts ride on its ack.
    const { slots, payload } = packBuffers([{ name: 'y', ...zeros }])
    const { header: ack } = await ask(
      {
        type: 'result',
        leaseId: held.leaseId,
        outputs: slots,
        sha256: await sha256Hex(payload),
        elapsedMs: 1,
      },
      payload,
    )
    expect(ack).toMatchObject({ type: 'result-ack', outcome: 'pending' })
    if (ack.type !== 'result-ack') throw new Error('unreachable')
    expect(ack.verdicts).toEqual(
      mine.slice(0, MAX_VERDICTS_PER_MESSAGE).map((taskId) => ({ taskId, outcome: 'accepted' })),
    )
    // The rest on the next answer (no work left that the client may run), then none.
    const { header: next } = await ask({ type: 'lease-request' })
    expect(next).toEqual({
      type: 'no-work',
      retryAfterMs: expect.any(Number),
      verdicts: mine
        .slice(MAX_VERDICTS_PER_MESSAGE)
        .map((taskId) => ({ taskId, outcome: 'accepted' })),
    })
    const { header: last } = await ask({ type: 'lease-request' })
    expect(last).toEqual({ type: 'no-work', retryAfterMs: expect.any(Number) })
    // The next lease of the job says how far it got.
    coordinator.registerContributor('third', capabilities)
    expect(coordinator.lease('third')?.job).toMatchObject({ tasksAccepted: tasks - 1 })
    expect((await coordinator.getJob(job.id)).tasks.accepted).toBe(tasks - 1)
  })

  it('pays the site a hello’s signed wallet binding names its share, and none for NO_SITE', async () => {
    await serve({ siteShareBps: 1_000 })
    const wallet = privateKeyToAccount(generatePrivateKey())
    const site = privateKeyToAccount(generatePrivateKey()).address
    const peerId = client.peerId.toString()
    const hello = async (boundSite: `0x${string}`) => {
      const binding = {
        peerId,
        site: boundSite,
        nonce:
          `0x${crypto.getRandomValues(new Uint8Array(32)).reduce((hex, b) => hex + b.toString(16).padStart(2, '0'), '')}` as const,
        expiry: Math.floor(Date.now() / 1000) + 3600,
      }
      const signature = await wallet.signTypedData(walletProofTypedData(binding))
      const wire = { ...binding, address: wallet.address, signature }
      expect((await ask({ type: 'hello', capabilities, wallet: wire })).header.type).toBe(
        'hello-ack',
      )
    }
    // One task of 4 outputs: 4,000 flops, 4,000 credits; the site's 10% is 400.
    const runOne = async () => {
      const job = await coordinator.submit(
        customJob('@compute @workgroup_size(1) fn main() {}', new Uint8Array(16)),
        { account: 'local' },
      )
      const grant = coordinator.lease(peerId)!
      const zeros = { shape: [4], dtype: 'float32' as const, bytes: new Uint8Array(16) }
      expect(coordinator.submitResult(peerId, grant.leaseId, [zeros]).outcome).toBe('accepted')
      expect((await coordinator.getJob(job.id)).status).toBe('completed')
    }
    await hello(site)
    await runOne()
    expect((await coordinator.account(site)).earned).toBe(400n)
    expect((await coordinator.account(wallet.address)).earned).toBe(3_600n)
    // The same wallet, bound through no site: all of the next job's pay is its own.
    await hello(NO_SITE)
    await runOne()
    expect((await coordinator.account(site)).earned).toBe(400n)
    expect((await coordinator.account(wallet.address)).earned).toBe(7_600n)
  })
})

/**
 * A decoder task over the real work protocol: its lease (all header: the program, the
 * weights as byte ranges) passes the wire schema, and its result travels with the
 * contributor's signature, which the relay checks against the peer id.
 */
describe('the work service and decoder tasks', () => {
  let relay: RelayNode
  let client: Libp2p
  let key: PrivateKey
  let coordinator: Coordinator
  let stop: (() => Promise<void>) | undefined

  beforeAll(async () => {
    relay = await createRelayNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0/ws'],
      limits: { maxConnections: 50 },
    })
    key = await generateKeyPair('Ed25519')
    client = await createLibp2p({
      privateKey: key,
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    })
  })
  afterEach(async () => {
    await stop?.()
    coordinator?.close()
  })
  afterAll(async () => {
    await client?.stop()
    await relay?.stop()
  })

  async function ask(request: WorkRequest, payload?: Uint8Array) {
    const stream = await client.dialProtocol(relay.getMultiaddrs()[0]!, WORK_PROTOCOL, {
      signal: signal(),
    })
    return sendWorkRequest(stream, request, payload, { signal: signal() })
  }

  it('leases a batch of prompts and accepts its signed result; an unsigned one is rejected', async () => {
    const blobs = createMemoryBlobStore()
    coordinator = createCoordinator({ blobs, welcomeCredits: 10n ** 12n })
    stop = await startWorkService({ node: relay, coordinator, log: silentLogger })
    const model = createTestModel({ family: 'gpt2', layers: 2, maxPositions: 16 })
    const job = await coordinator.submit(
      {
        kernel: 'inference',
        model: { config: model.config, files: [{ blob: blobs.put(model.safetensors).hash }] },
        mode: 'batch',
        prompts: [[1, 2, 3]],
        maxNewTokens: 2,
        stop: [],
        verification: { replication: 1, spotCheck: 1 },
      },
      { account: 'local' },
    )
    const hello = { ...capabilities, kernels: ['decoder-generate'] }
    expect((await ask({ type: 'hello', capabilities: hello })).header.type).toBe('hello-ack')

    const run = async () => {
      const { header } = await ask({ type: 'lease-request' })
      if (header.type !== 'lease' || header.program.kind !== 'decoder-generate')
        throw new Error(`expected a decoder-generate lease, got ${JSON.stringify(header)}`)
      const program = header.program
      const bytes = (name: string) =>
        coordinator.inputBytes(header.inputs.find((i) => i.name === name)!.sha256)!
      const weights = new Map(
        program.tensors.map((name, i) => [
          name,
          {
            dtype: 'float32' as const,
            data: Float32Array.from(alignedViewAs('float32', bytes(`w${i}`))),
          },
        ]),
      )
      const stage = createReferenceDecoderStage({
        config: program.config,
        fromLayer: 0,
        toLayer: program.config.layers,
        weights,
      })
      const out = await generateBatch(stage, {
        prompts: [Int32Array.from(alignedViewAs('int32', bytes('tokens')))],
        maxNewTokens: program.maxNewTokens,
        sampling: program.sampling,
        stop: program.stop,
        topLogits: program.topLogits,
        firstPrompt: program.firstPrompt,
      })
      const { slots, payload } = packBuffers(
        [out.tokens, out.ids, out.logits].map((data, i) => ({
          name: header.outputs[i]!.name,
          dtype: header.outputs[i]!.dtype,
          shape: header.outputs[i]!.shape,
          bytes: new Uint8Array(data.buffer),
        })),
      )
      return { header, slots, payload, sha256: await sha256Hex(payload) }
    }

    const unsigned = await run()
    const { header: refused } = await ask(
      {
        type: 'result',
        leaseId: unsigned.header.leaseId,
        outputs: unsigned.slots,
        sha256: unsigned.sha256,
        elapsedMs: 1,
      },
      unsigned.payload,
    )
    expect(refused).toMatchObject({
      type: 'result-ack',
      outcome: 'rejected',
      reason: expect.stringMatching(/must be signed/),
    })

    // The rejected result cost this contributor that task for good: a fresh job's task,
    // signed this time, is accepted.
    const again = await coordinator.submit(
      {
        kernel: 'inference',
        model: { config: model.config, files: [{ blob: blobs.put(model.safetensors).hash }] },
        mode: 'batch',
        prompts: [[4, 5]],
        maxNewTokens: 2,
        stop: [],
        verification: { replication: 1, spotCheck: 1 },
      },
      { account: 'local' },
    )
    await coordinator.cancel(job.id)
    const signed = await run()
    expect(signed.header.jobId).toBe(again.id)
    const signature = Buffer.from(
      await key.sign(resultSigningBytes(signed.header.taskId, signed.sha256)),
    ).toString('base64')
    const { header: ack } = await ask(
      {
        type: 'result',
        leaseId: signed.header.leaseId,
        outputs: signed.slots,
        sha256: signed.sha256,
        elapsedMs: 1,
        signature,
      },
      signed.payload,
    )
    expect(ack).toMatchObject({ type: 'result-ack', outcome: 'accepted' })
    expect((await coordinator.getJob(again.id)).status).toBe('completed')
  })
})

/**
 * A stage holder's held lease request over real libp2p, against a coordinator that has
 * no work and calls every peer a stage holder: how the wait ends (its timeout, the stream,
 * the service stopping), and that every ending answers or lets go of the request.
 */
describe('the work service and a held lease request', () => {
  let relay: RelayNode
  let client: Libp2p
  let stop: (() => Promise<void>) | undefined
  const listeners = new Set<() => void>()
  let leaseCalls = 0

  const coordinator = {
    registerContributor() {},
    lease() {
      leaseCalls++
      return undefined
    },
    refusal: () => undefined,
    retryAfterMs: () => 20,
    takeVerdicts: () => [],
    durable: async () => {},
    holdEndsInMs: () => undefined,
    onTaskReady(listener: () => void) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    contributorLeft() {},
  } as unknown as Coordinator

  beforeAll(async () => {
    relay = await createRelayNode({
      privateKey: await generateKeyPair('Ed25519'),
      listen: ['/ip4/127.0.0.1/tcp/0/ws'],
      limits: { maxConnections: 50 },
    })
    client = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify() },
    })
  })
  afterEach(async () => {
    await stop?.()
    stop = undefined
  })
  afterAll(async () => {
    await client?.stop()
    await relay?.stop()
  })

  async function serve(stageHolderWaitMs: number) {
    leaseCalls = 0
    stop = await startWorkService({
      node: relay,
      coordinator,
      log: silentLogger,
      stageHolderWaitMs,
    })
    expect((await ask({ type: 'hello', capabilities })).header.type).toBe('hello-ack')
  }

  async function ask(request: WorkRequest, requestSignal = signal()) {
    const stream = await client.dialProtocol(relay.getMultiaddrs()[0]!, WORK_PROTOCOL, {
      signal: requestSignal,
    })
    return sendWorkRequest(stream, request, undefined, { signal: requestSignal })
  }

  const until = async (done: () => boolean, ms = 2_000) => {
    const end = performance.now() + ms
    while (!done() && performance.now() < end) await new Promise((r) => setTimeout(r, 5))
    return done()
  }

  it('answers no-work with a short retry once the wait is up, and leases again on a ready signal', async () => {
    await serve(300)
    const started = performance.now()
    const answer = ask({ type: 'lease-request' })
    expect(await until(() => listeners.size === 1)).toBe(true)
    // A ready signal that brings it nothing: it looks again, and waits on.
    for (const wake of [...listeners]) wake()
    const { header } = await answer
    const waited = performance.now() - started
    expect(header).toEqual({ type: 'no-work', retryAfterMs: 20 })
    expect(waited).toBeGreaterThanOrEqual(290)
    expect(waited).toBeLessThan(2_000)
    // Looked on arrival, on the signal, and once more when the wait was up.
    expect(leaseCalls).toBe(3)
    expect(listeners.size).toBe(0)
  })

  it('lets a held request go as soon as the contributor closes its stream', async () => {
    await serve(10_000)
    const gone = new AbortController()
    const answer = ask({ type: 'lease-request' }, gone.signal)
    expect(await until(() => listeners.size === 1)).toBe(true)
    gone.abort()
    await expect(answer).rejects.toThrow()
    const started = performance.now()
    expect(await until(() => listeners.size === 0)).toBe(true)
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('answers a held request at once when the service stops', async () => {
    await serve(10_000)
    const answer = ask({ type: 'lease-request' })
    expect(await until(() => listeners.size === 1)).toBe(true)
    const started = performance.now()
    await stop?.()
    stop = undefined
    expect((await answer).header).toMatchObject({ type: 'no-work' })
    expect(performance.now() - started).toBeLessThan(1_000)
    expect(listeners.size).toBe(0)
  })
})
