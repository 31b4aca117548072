import type { DecoderStage } from '@tabswarm/worker-kernels'
import type { DecoderStageFactory } from './decoder-executor.ts'

/**
 * FOR TESTS ONLY: a saboteur. Wraps a stage factory so that every stage it binds returns
 * activations with one value changed by `delta` (the middle one of the last row of each
 * forward pass): the right answer almost everywhere, the hardest kind to notice. The last
 * row is the one every output reads: a later stage's input, and a last stage's top logits
 * (a value in an earlier row of a prefill would leave those logits right). Tests run it to show the relay catches a stage
 * that lies; a tab runs it only when opened with `?tabswarm-test&saboteur=activations`.
 *
 * @example
 * runContributor({ ..., decoderStages: corruptingDecoderStages(honestFactory) })
 */
export function corruptingDecoderStages(
  factory: DecoderStageFactory,
  delta = 0.5,
): DecoderStageFactory {
  return async (runner, options) => {
    const stage = await factory(runner, options)
    const corrupt: DecoderStage = {
      config: stage.config,
      fromLayer: stage.fromLayer,
      toLayer: stage.toLayer,
      compute: stage.compute,
      createCache: () => stage.createCache(),
      async forward(input, cache, runOptions) {
        const hidden = await stage.forward(input, cache, runOptions)
        const width = stage.config.hiddenSize
        const at = hidden.length - width + Math.floor(width / 2)
        hidden[at] = (hidden[at] as number) + delta
        return hidden
      },
      topLogits: (hidden, count, runOptions) => stage.topLogits(hidden, count, runOptions),
      destroy: () => stage.destroy(),
    }
    return corrupt
  }
}
