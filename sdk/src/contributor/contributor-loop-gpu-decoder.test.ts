import { generateKeyPair } from '@libp2p/crypto/keys'
import { alignedViewAs, readBuffer } from '@tabswarm/protocol'
import {
  compareActivations,
  createGpuDecoderStage,
  createReferenceDecoderStage,
  decoderTolerance,
} from '@tabswarm/worker-kernels'
import { createKernelHostProcess } from '@tabswarm/worker-kernels/node'
import { createTestModel } from '@tabswarm/worker-kernels/test-model'
import { describe, expect, it } from 'vitest'
import { runContributor } from './contributor-loop.ts'
import {
  decoderInputs,
  decoderTerms,
  leasingRelay,
  stageLease,
} from './testing/fake-decoder-work.ts'

// The production default of headless workers: the GPU stage (on dawn, through the kernel
// host process a worker runs) behind the contributor loop, held to the f64 reference.

const model = createTestModel({ family: 'gpt2', layers: 2 })
const { config } = model
const prompt = Int32Array.of(11, 3, 250, 7)
const next = Int32Array.of(42)

describe('runContributor with the GPU decoder stage', () => {
  it('runs a prefill and a cached step within the decoder tolerance of the reference', async () => {
    const host = await createKernelHostProcess()
    try {
      const key = await generateKeyPair('Ed25519')
      const relay = leasingRelay([
        await stageLease(model, decoderTerms(1), {
          fromLayer: 0,
          toLayer: 1,
          start: 0,
          input: prompt,
        }),
        await stageLease(model, decoderTerms(2), {
          fromLayer: 0,
          toLayer: 1,
          start: 4,
          input: next,
          prefix: prompt,
        }),
      ])
      const inputs = decoderInputs(model, prompt, next)
      const summary = await runContributor({
        channel: relay.channel,
        inputs: inputs.source,
        capabilities: {
          adapter: { vendor: 'dawn', architecture: '', device: '', description: 'test' },
          features: [],
          limits: {},
          kernels: ['decoder-stage'],
          agent: 'test',
        },
        executor: host,
        decoderStages: (runner, options) =>
          createGpuDecoderStage(runner, { ...options, features: host.info.deviceFeatures }),
        sign: (bytes) => key.sign(bytes),
        gflops: false,
        maxTasks: 2,
        signal: AbortSignal.timeout(60_000),
      })
      expect(summary).toMatchObject({ tasks: 2, failed: 0 })
      expect(inputs.fetches.filter((f) => f.ref.name === 'prefix')).toEqual([])

      const cpu = createReferenceDecoderStage({
        config,
        fromLayer: 0,
        toLayer: 1,
        weights: new Map([...model.weights].map(([n, data]) => [n, { dtype: 'float32', data }])),
      })
      const cache = cpu.createCache()
      const expected = [
        await cpu.forward({ tokens: prompt }, cache),
        await cpu.forward({ tokens: next }, cache),
      ]
      relay.results.forEach(({ request, payload }, i) => {
        const hidden = alignedViewAs('float32', readBuffer(payload, request.outputs[0]!))
        const tolerance = decoderTolerance(config, { layers: 1, kvLength: 5, compute: 'float32' })
        expect(
          compareActivations(hidden, expected[i]!, config.hiddenSize, tolerance),
        ).toMatchObject({ ok: true })
      })
    } finally {
      host.destroy()
    }
  }, 120_000)
})
