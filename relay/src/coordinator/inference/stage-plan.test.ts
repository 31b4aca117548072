import { createTestModel } from '@tabswarm/worker-kernels/test-model'
import { describe, expect, it } from 'vitest'
import { createMemoryBlobStore } from '../../blobs/blob-store.ts'
import { readModelWeights } from './model-weights.ts'
import { splitStages, stageBytes, stagesForMemory } from './stage-plan.ts'

const model = createTestModel({ family: 'gpt2', layers: 6, maxPositions: 32 })
const blobs = createMemoryBlobStore()
const weights = readModelWeights(
  { config: model.config, files: [{ blob: blobs.put(model.safetensors).hash }] },
  blobs,
)

describe('splitStages', () => {
  it('cuts contiguous layer ranges, every tensor in exactly one stage but a tied head', () => {
    const stages = splitStages(weights, 3)
    expect(stages.map((s) => [s.fromLayer, s.toLayer])).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
    ])
    const names = stages.flatMap((s) => s.tensors)
    // GPT-2 ties its head to the token embedding: the last stage binds it too.
    expect(names.filter((n) => n === 'wte.weight')).toHaveLength(2)
    expect(new Set(names).size).toBe(weights.tensors.size)
    expect(stages[0]!.tensors[0]).toBe('wte.weight')
    expect(stages[2]!.tensors.at(-1)).toBe('ln_f.bias')
  })

  it('refuses more stages than layers', () => {
    expect(() => splitStages(weights, 7)).toThrow(/7 stages cannot split 6 layers/)
  })
})

describe('stagesForMemory', () => {
  it('takes as few stages as fit the memory, and refuses a model no split fits', () => {
    const whole = splitStages(weights, 1)[0]!
    expect(stagesForMemory(weights, stageBytes(model.config, whole, 4), 4)).toHaveLength(1)
    const two = splitStages(weights, 2)
    const largest = Math.max(...two.map((s) => stageBytes(model.config, s, 4)))
    expect(stagesForMemory(weights, largest, 4)).toHaveLength(2)
    expect(() => stagesForMemory(weights, 1000, 4)).toThrow(
      /does not fit the contributors' memory \(1000 bytes\) even split into 6 stages/,
    )
  })
})
