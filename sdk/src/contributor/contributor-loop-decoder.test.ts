import { generateKeyPair } from '@libp2p/crypto/keys'
import { alignedViewAs, readBuffer, resultSigningBytes, sha256Hex } from '@tabswarm/protocol'
import {
  createDecoderReference,
  createReferenceDecoderStage,
  DecoderSession,
  generateReference,
  type KernelRunner,
  topLogitsOf,
} from '@tabswarm/worker-kernels'
import { createTestModel } from '@tabswarm/worker-kernels/test-model'
import { describe, expect, it } from 'vitest'
import type { ContributorEvent } from './contributor-events.ts'
import { runContributor } from './contributor-loop.ts'
import type { InputSource } from './input-source.ts'
import {
  decoderInputs,
  decoderTerms,
  generateLease,
  leasingRelay,
  stageLease,
} from './testing/fake-decoder-work.ts'
import type { WorkChannel } from './work-channel.ts'

const model = createTestModel({ family: 'llama', layers: 4 })
const H = model.config.hiddenSize
const prompt = Int32Array.of(5, 17, 42, 9)
const next = Int32Array.of(33)
const whole = Int32Array.of(...prompt, ...next)

const capabilities = {
  adapter: { vendor: 'test', architecture: 'cpu', device: '', description: 'reference stage' },
  features: [],
  limits: {},
  kernels: ['decoder-stage', 'decoder-generate'],
  agent: 'test',
}
/** Decoder stages never call the kernel runner here: the reference stage runs on the CPU. */
const noKernels: KernelRunner = {
  run: () => Promise.reject(new Error('no kernel should run outside the stage')),
}

/** The residual stream leaving layers 0 … 1 at every position of `tokens`, by the f64 reference. */
function referenceHidden(tokens: Int32Array): Promise<Float32Array> {
  const stage = createReferenceDecoderStage({
    config: model.config,
    fromLayer: 0,
    toLayer: 2,
    weights: new Map([...model.weights].map(([n, data]) => [n, { dtype: 'float32', data }])),
  })
  return stage.forward({ tokens }, stage.createCache())
}

async function contribute(
  channel: WorkChannel,
  inputs: InputSource,
  maxTasks: number,
  options: { signer?: boolean } = {},
) {
  const key = await generateKeyPair('Ed25519')
  const events: ContributorEvent[] = []
  const summary = await runContributor({
    channel,
    inputs,
    capabilities,
    executor: noKernels,
    decoderStages: (_runner, stageOptions) => createReferenceDecoderStage(stageOptions),
    ...(options.signer !== false ? { sign: (bytes: Uint8Array) => key.sign(bytes) } : {}),
    gflops: false,
    maxTasks,
    signal: AbortSignal.timeout(20_000),
    onEvent: (e) => events.push(e),
  })
  return { summary, events, key }
}

function outputsOf(result: ReturnType<typeof leasingRelay>['results'][number]) {
  return Object.fromEntries(
    result.request.outputs.map(
      (slot) => [slot.name, alignedViewAs(slot.dtype, readBuffer(result.payload, slot))] as const,
    ),
  )
}

describe('runContributor: decoder tasks', () => {
  it('runs a stage lease: hidden per contract, signed, kept for the next stage', async () => {
    const relay = leasingRelay([
      await stageLease(model, decoderTerms(1), {
        fromLayer: 0,
        toLayer: 2,
        start: 0,
        input: prompt,
      }),
    ])
    const inputs = decoderInputs(model, prompt, next)
    const { summary, key } = await contribute(relay.channel, inputs.source, 1)
    expect(summary).toMatchObject({ tasks: 1, accepted: 1, failed: 0 })
    const [result] = relay.results
    const { hidden } = outputsOf(result!)
    expect(result!.request.outputs).toMatchObject([
      { name: 'hidden', dtype: 'float32', shape: [4, H] },
    ])
    expect([...(hidden as Float32Array)]).toEqual([...(await referenceHidden(prompt))])

    const signature = Uint8Array.from(atob(result!.request.signature!), (c) => c.charCodeAt(0))
    const signed = resultSigningBytes('task-1', result!.request.sha256)
    expect(await key.publicKey.verify(signed, signature)).toBe(true)
    expect(
      await key.publicKey.verify(resultSigningBytes('task-2', result!.request.sha256), signature),
    ).toBe(false)

    // The activations are kept under their hash, announced first on the next lease request.
    const hiddenBytes = readBuffer(result!.payload, result!.request.outputs[0]!)
    expect(inputs.kept.map((k) => k.sha256)).toEqual([await sha256Hex(hiddenBytes)])
    expect(inputs.kept[0]!.bytes).toEqual(hiddenBytes)
  })

  it('reuses the KV cache and the bound stage on the next step: no prefix, no weights fetched again', async () => {
    const relay = leasingRelay([
      await stageLease(model, decoderTerms(1), {
        fromLayer: 0,
        toLayer: 2,
        start: 0,
        input: prompt,
      }),
      await stageLease(model, decoderTerms(2), {
        fromLayer: 0,
        toLayer: 2,
        start: 4,
        input: next,
        prefix: prompt,
      }),
    ])
    const inputs = decoderInputs(model, prompt, next)
    const { summary } = await contribute(relay.channel, inputs.source, 2)
    expect(summary).toMatchObject({ tasks: 2, failed: 0 })
    const names = inputs.fetches.map((f) => f.ref.name)
    expect(names.filter((n) => n === 'prefix')).toEqual([])
    expect(names.filter((n) => n === 'w0')).toHaveLength(1)
    const expected = (await referenceHidden(whole)).subarray(4 * H)
    expect([...(outputsOf(relay.results[1]!).hidden as Float32Array)]).toEqual([...expected])
  })

  it('replays the lazy prefix on a stage it holds no cache for (a reassigned shard)', async () => {
    const relay = leasingRelay([
      await stageLease(model, decoderTerms(2), {
        fromLayer: 0,
        toLayer: 2,
        start: 4,
        input: next,
        prefix: prompt,
      }),
    ])
    const inputs = decoderInputs(model, prompt, next)
    const { summary } = await contribute(relay.channel, inputs.source, 1)
    expect(summary).toMatchObject({ tasks: 1, failed: 0 })
    const prefixFetches = inputs.fetches.filter((f) => f.ref.name === 'prefix')
    expect(prefixFetches).toHaveLength(1)
    const expected = (await referenceHidden(whole)).subarray(4 * H)
    expect([...(outputsOf(relay.results[0]!).hidden as Float32Array)]).toEqual([...expected])
  })

  it('fails the task when the prefix does not match its hash', async () => {
    const lease = await stageLease(model, decoderTerms(2), {
      fromLayer: 0,
      toLayer: 2,
      start: 4,
      input: next,
      prefix: prompt,
    })
    const relay = leasingRelay([lease])
    const inputs = decoderInputs(model, prompt, next)
    inputs.corrupt.add(lease.header.inputs.find((r) => r.name === 'prefix')!.sha256)
    const { summary } = await contribute(relay.channel, inputs.source, 1)
    expect(summary).toMatchObject({ tasks: 0, failed: 1 })
    expect(relay.results).toEqual([])
    expect(relay.errors[0]).toMatchObject({
      code: 'INPUT_MISMATCH',
      message: expect.stringContaining('prefix'),
    })
  })

  it('cuts the cache back to start on a retried step, then gives the same answer', async () => {
    const relay = leasingRelay([
      await stageLease(model, decoderTerms(1), {
        fromLayer: 0,
        toLayer: 2,
        start: 0,
        input: prompt,
      }),
      await stageLease(model, decoderTerms(2), {
        fromLayer: 0,
        toLayer: 2,
        start: 4,
        input: next,
        prefix: prompt,
      }),
      await stageLease(model, decoderTerms(3), {
        fromLayer: 0,
        toLayer: 2,
        start: 4,
        input: next,
        prefix: prompt,
      }),
    ])
    const inputs = decoderInputs(model, prompt, next)
    const { summary } = await contribute(relay.channel, inputs.source, 3)
    expect(summary).toMatchObject({ tasks: 3, failed: 0 })
    expect(inputs.fetches.filter((f) => f.ref.name === 'prefix')).toEqual([])
    const [, second, third] = relay.results.map((r) => outputsOf(r).hidden as Float32Array)
    expect([...third!]).toEqual([...second!])
  })

  it('returns the top logits of the last row from the last stage', async () => {
    const hidden = await referenceHidden(prompt)
    const relay = leasingRelay([
      await stageLease(model, decoderTerms(1), {
        fromLayer: 2,
        toLayer: 4,
        start: 0,
        input: hidden,
        topLogits: 5,
      }),
    ])
    const inputs = decoderInputs(model, prompt, next)
    await inputs.add(hidden)
    await contribute(relay.channel, inputs.source, 1)
    const logits = new DecoderSession(
      createDecoderReference(model.config, (n) => model.weights.get(n)),
    ).prefill(prompt)
    const expected = topLogitsOf(logits, 5)
    const out = outputsOf(relay.results[0]!)
    expect([...(out.ids as Int32Array)]).toEqual([...expected.ids])
    expect(relay.results[0]!.request.outputs.map((s) => [s.name, s.shape])).toEqual([
      ['ids', [5]],
      ['logits', [5]],
    ])
    const got = out.logits as Float32Array
    for (const [i, v] of expected.logits.entries()) expect(got[i]).toBeCloseTo(v, 4)
  })

  it('generates a batch whose tokens equal the reference', async () => {
    const prompts = [prompt, Int32Array.of(3, 7)]
    const lease = await generateLease(model, decoderTerms(1), prompts, 4)
    const relay = leasingRelay([lease])
    const inputs = decoderInputs(model, prompt, next)
    await inputs.add(lease.tokens)
    await inputs.add(lease.lengths)
    const { summary } = await contribute(relay.channel, inputs.source, 1)
    expect(summary).toMatchObject({ tasks: 1, failed: 0 })
    const reference = createDecoderReference(model.config, (n) => model.weights.get(n))
    const tokens = outputsOf(relay.results[0]!).tokens as Int32Array
    expect([...tokens]).toEqual([
      ...generateReference(reference, prompts[0]!, { maxTokens: 4 }),
      ...generateReference(reference, prompts[1]!, { maxTokens: 4 }),
    ])
    expect(relay.results[0]!.request.signature).toMatch(/^[A-Za-z0-9+/]+={0,2}$/)
    // No activations to hand on: batch generation keeps nothing for peers.
    expect(inputs.kept).toEqual([])
  })

  it('refuses a decoder lease as a task error when it has no signer', async () => {
    const relay = leasingRelay([
      await stageLease(model, decoderTerms(1), {
        fromLayer: 0,
        toLayer: 2,
        start: 0,
        input: prompt,
      }),
    ])
    const inputs = decoderInputs(model, prompt, next)
    const { summary } = await contribute(relay.channel, inputs.source, 1, { signer: false })
    expect(summary).toMatchObject({ tasks: 0, failed: 1 })
    expect(relay.errors[0]).toMatchObject({
      code: 'RESULT_SIGNER_MISSING',
      message: expect.stringContaining('signed'),
    })
    expect(inputs.fetches).toEqual([])
  })
})
