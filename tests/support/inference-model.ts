import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SamplingSpec } from '@tabswarm/protocol'
import { createDecoderReference, generateReference } from '@tabswarm/worker-kernels'
import type { TestModel, TestModelOptions } from '@tabswarm/worker-kernels/test-model'
import { writeTestModel } from '@tabswarm/worker-kernels/test-model/node'

/** A test model written as a model directory, and its CPU reference generation. */
export interface InferenceTestModel {
  dir: string
  model: TestModel
  /** The reference's tokens after `prompt` (token ids): what a verified generation must equal. */
  reference(prompt: readonly number[], maxTokens: number, sampling?: SamplingSpec): number[]
}

/**
 * Writes a small decoder (6 layers by default) with its tokenizer into a fresh temporary
 * directory, the way a downloaded model lies on disk: tests never download a model.
 */
export async function writeInferenceTestModel(
  options: TestModelOptions,
): Promise<InferenceTestModel> {
  const dir = await mkdtemp(join(tmpdir(), 'tabswarm-model-'))
  const model = await writeTestModel(dir, options)
  const reference = createDecoderReference(model.config, (name) => model.weights.get(name))
  const stop = model.config.eosTokenId == null ? [] : [model.config.eosTokenId]
  return {
    dir,
    model,
    reference: (prompt, maxTokens, sampling = { mode: 'greedy' }) => [
      ...generateReference(reference, prompt, { maxTokens, sampling, stop }),
    ],
  }
}
