import type {
  DecoderGenerateProgram,
  DecoderStageProgram,
  InputRef,
  OutputSpec,
} from '@tabswarm/protocol'
import type { JobParts } from '../jobs/job-parts.ts'
import type { TaskRequirement } from '../leases/capability-match.ts'
import {
  batchPrompts,
  type InferenceInputs,
  pipelinePlace,
  stepRows,
  stopTokensOf,
} from './inference-inputs.ts'
import { stageBytes, stageWorkingBytes } from './stage-plan.ts'

/** A named output a decoder task writes, as its lease declares it. */
export type NamedOutput = OutputSpec & { name: string }

/** The program of task `index`: a `decoder-stage` step of a sequence, or a `decoder-generate` batch. */
export function inferenceProgram(
  inputs: InferenceInputs,
  index: number,
): DecoderStageProgram | DecoderGenerateProgram {
  const { spec } = inputs
  const config = spec.model.config
  if (spec.mode === 'batch') {
    const { first } = batchPrompts(inputs, index)
    return {
      kind: 'decoder-generate',
      config,
      firstPrompt: first,
      maxNewTokens: spec.maxNewTokens,
      sampling: inputs.sampling,
      stop: stopTokensOf(spec),
      topLogits: inputs.topLogits,
      tensors: inputs.stages[0]!.tensors,
    }
  }
  const place = pipelinePlace(inputs, index)
  const seq = inputs.sequences[place.sequence]!
  const stage = inputs.stages[place.stage]!
  return {
    kind: 'decoder-stage',
    config,
    fromLayer: stage.fromLayer,
    toLayer: stage.toLayer,
    sequence: `s${seq.index}`,
    ...stepRows(seq.prompt, place.step),
    topLogits: inputs.topLogits,
    tensors: stage.tensors,
  }
}

/** The outputs task `index` must return, in order (see the programs' contract in `messages.ts`). */
export function inferenceOutputs(inputs: InferenceInputs, index: number): NamedOutput[] {
  const { spec } = inputs
  const k = inputs.topLogits
  if (spec.mode === 'batch') {
    const { first, end } = batchPrompts(inputs, index)
    const shape = [end - first, spec.maxNewTokens]
    return [
      { name: 'tokens', dtype: 'int32', shape },
      { name: 'ids', dtype: 'int32', shape: [...shape, k] },
      { name: 'logits', dtype: 'float32', shape: [...shape, k] },
    ]
  }
  const place = pipelinePlace(inputs, index)
  if (place.stage < inputs.stages.length - 1) {
    const { rows } = stepRows(inputs.sequences[place.sequence]!.prompt, place.step)
    return [{ name: 'hidden', dtype: 'float32', shape: [rows, spec.model.config.hiddenSize] }]
  }
  return [
    { name: 'ids', dtype: 'int32', shape: [k] },
    { name: 'logits', dtype: 'float32', shape: [k] },
  ]
}

/**
 * The inputs of task `index` by content address (providers are added by the lease): the
 * tokens or the previous stage's accepted `hidden` (its producer named first, so the next
 * tab fetches it tab to tab), a lazy replay `prefix` when the step does not start at 0, then
 * every weight as a byte range of its file's blob. Each weight range is hashed once per
 * job, on the first lease that names it, and registered as a job part.
 */
export function inferenceInputRefs(
  jobId: string,
  inputs: InferenceInputs,
  index: number,
  parts: JobParts,
): InputRef[] {
  const { spec, weights } = inputs
  const hidden = spec.model.config.hiddenSize
  const refs: InputRef[] = []
  const part = (bytes: Uint8Array) => parts.add(jobId, bytes)
  let tensors: string[]
  if (spec.mode === 'batch') {
    const { first, end } = batchPrompts(inputs, index)
    const prompts = inputs.sequences.slice(first, end).map((s) => s.prompt)
    const all = new Int32Array(prompts.reduce((n, p) => n + p.length, 0))
    let at = 0
    for (const p of prompts) {
      all.set(p, at)
      at += p.length
    }
    const lengths = Int32Array.from(prompts, (p) => p.length)
    refs.push(
      int32Ref('tokens', new Uint8Array(all.buffer), part),
      int32Ref('lengths', new Uint8Array(lengths.buffer), part),
    )
    tensors = inputs.stages[0]!.tensors
  } else {
    const place = pipelinePlace(inputs, index)
    const seq = inputs.sequences[place.sequence]!
    const stage = inputs.stages[place.stage]!
    const input = seq.pending[place.stage]
    if (input == null)
      throw new RangeError(`task ${index} is not ready: its previous stage is not accepted`)
    input.sha256 ??= part(input.bytes)
    const { start, rows } = stepRows(seq.prompt, place.step)
    if (place.stage === 0) refs.push(int32Ref('tokens', input.bytes, () => input.sha256!))
    else
      refs.push({
        name: 'x',
        dtype: 'float32',
        shape: [rows, hidden],
        sha256: input.sha256,
        byteLength: input.bytes.byteLength,
        ...(input.producer != null ? { providers: [input.producer] } : {}),
      })
    if (start > 0) {
      let prefix = seq.prefix[place.stage]
      if (prefix?.positions !== start) {
        const history = seq.history[place.stage]!
        const bytes = new Uint8Array(history.reduce((n, b) => n + b.byteLength, 0))
        let at = 0
        for (const b of history) {
          bytes.set(b, at)
          at += b.byteLength
        }
        prefix = { positions: start, sha256: part(bytes) }
        seq.prefix[place.stage] = prefix
      }
      refs.push({
        name: 'prefix',
        dtype: place.stage === 0 ? 'int32' : 'float32',
        shape: place.stage === 0 ? [start] : [start, hidden],
        sha256: prefix.sha256,
        byteLength: place.stage === 0 ? start * 4 : start * hidden * 4,
        lazy: true,
      })
    }
    tensors = stage.tensors
  }
  tensors.forEach((name, i) => {
    const range = weights.tensors.get(name)!
    let sha256 = inputs.weightHashes.get(name)
    if (sha256 == null) {
      const file = weights.files.get(range.blob)!
      sha256 = part(file.subarray(range.byteOffset, range.byteOffset + range.byteLength))
      inputs.weightHashes.set(name, sha256)
    }
    refs.push({
      name: `w${i}`,
      dtype: range.dtype,
      shape: range.shape,
      sha256,
      byteLength: range.byteLength,
      range: { blob: range.blob, byteOffset: range.byteOffset },
    })
  })
  return refs
}

function int32Ref(name: string, bytes: Uint8Array, hash: (bytes: Uint8Array) => string): InputRef {
  return {
    name,
    dtype: 'int32',
    shape: [bytes.byteLength / 4],
    sha256: hash(bytes),
    byteLength: bytes.byteLength,
  }
}

/**
 * What a device must offer to run the job's tasks: the decoder executor
 * (`decoder-stage` / `decoder-generate` in its `kernels`), a storage binding that holds the
 * largest weight tensor, and a memory cap that holds the largest stage's weights, its KV
 * cache for the model's whole context and its activations.
 */
export function inferenceRequirement(inputs: InferenceInputs): TaskRequirement {
  const { spec } = inputs
  const config = spec.model.config
  const longest = Math.max(...spec.prompts.map((p) => p.length))
  let taskBytes = 0
  let largestBinding = 0
  for (const stage of inputs.stages) {
    taskBytes = Math.max(
      taskBytes,
      spec.mode === 'batch'
        ? stage.weightBytes + stageWorkingBytes(config, config.layers, longest, true)
        : stageBytes(config, stage, longest),
    )
    largestBinding = Math.max(largestBinding, stage.largestTensorBytes)
  }
  return {
    kernel: spec.mode === 'batch' ? 'decoder-generate' : 'decoder-stage',
    largestBinding,
    // The decoder's kernels bind a few buffers each (weights, activations, KV), not every
    // tensor at once.
    storageBindings: 4,
    taskBytes,
    uniformBytes: 0,
    workgroupsPerDimension: 1,
    features: [],
  }
}
