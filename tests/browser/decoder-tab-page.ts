import { generateKeyPair } from '@libp2p/crypto/keys'
import { alignedViewAs, readBuffer, resultSigningBytes } from '@tabswarm/protocol'
import {
  compareActivations,
  createGpuDecoderStage,
  createReferenceDecoderStage,
  decoderTolerance,
} from '@tabswarm/worker-kernels'
import { createTestModel } from '@tabswarm/worker-kernels/test-model'
import { runContributor } from '../../sdk/src/contributor/contributor-loop.ts'
import {
  decoderInputs,
  decoderTerms,
  leasingRelay,
  stageLease,
} from '../../sdk/src/contributor/testing/fake-decoder-work.ts'
import { spawnKernelWorker } from '../../web/src/kernels/spawn-kernel-worker.ts'

/**
 * A tab's decoder path, as `contribution.ts` wires it, on Chromium's WebGPU: the contributor
 * loop with the GPU stage on the page's kernel worker, signing with an Ed25519 key, over a
 * fake relay and inputs. Driven by `tests/e2e/decoder-stage-in-chromium.test.ts`.
 */
export interface DecoderTabResult {
  tasks: number
  failed: number
  /** Whether each step's hidden rows are within the decoder tolerance of the f64 stage. */
  withinTolerance: boolean[]
  /** Whether each result's signature verifies under the key's public half. */
  signed: boolean[]
  prefixFetches: number
  adapter: string
}

declare global {
  var decoderTab: { run(): Promise<DecoderTabResult> }
}

globalThis.decoderTab = {
  async run() {
    const model = createTestModel({ family: 'llama', layers: 2 })
    const { config } = model
    const prompt = Int32Array.of(5, 17, 42, 9)
    const next = Int32Array.of(33)
    const kernels = spawnKernelWorker()
    try {
      const info = await kernels.client.init({ signal: AbortSignal.timeout(60_000) })
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
          adapter: { vendor: info.vendor, architecture: '', device: '', description: '' },
          features: [],
          limits: {},
          kernels: ['decoder-stage'],
          agent: 'decoder-tab-page',
        },
        executor: kernels.client,
        decoderStages: (runner, options) =>
          createGpuDecoderStage(runner, { ...options, features: info.deviceFeatures }),
        sign: (bytes) => key.sign(bytes),
        gflops: false,
        maxTasks: 2,
        signal: AbortSignal.timeout(120_000),
      })
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
      const tolerance = decoderTolerance(config, { layers: 1, kvLength: 5, compute: 'float32' })
      const withinTolerance = relay.results.map(({ request, payload }, i) => {
        const hidden = alignedViewAs('float32', readBuffer(payload, request.outputs[0]!))
        return compareActivations(hidden, expected[i]!, config.hiddenSize, tolerance).ok
      })
      const signed = await Promise.all(
        relay.results.map(({ request }) =>
          key.publicKey.verify(
            resultSigningBytes(request.leaseId.replace('lease-', 'task-'), request.sha256),
            Uint8Array.from(atob(request.signature ?? ''), (c) => c.charCodeAt(0)),
          ),
        ),
      )
      return {
        tasks: summary.tasks,
        failed: summary.failed,
        withinTolerance,
        signed,
        prefixFetches: inputs.fetches.filter((f) => f.ref.name === 'prefix').length,
        adapter: info.description || info.vendor,
      }
    } finally {
      kernels.terminate()
    }
  },
}
