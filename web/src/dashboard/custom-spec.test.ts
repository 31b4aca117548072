import type { NdArray } from '@tabswarm/protocol'
import { CustomJobSpecSchema } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { type CustomForm, customJobSpec } from './custom-spec.ts'

const form: CustomForm = {
  wgsl: '@compute @workgroup_size(64) fn main() {}',
  entryPoint: 'main',
  outputDtype: 'float32',
  outputShape: 'input',
  workgroups: '64',
}
const input = (shape: number[], dtype: NdArray['dtype'] = 'float32') =>
  ({ dtype, shape, data: new Float32Array(shape.reduce((p, d) => p * d, 1)) }) as NdArray
const blob = 'a'.repeat(64)

describe('the custom job the form describes', () => {
  it('is one task per input, shaped and dispatched as tabswarm run would, and valid', () => {
    const spec = customJobSpec(form, [
      { blob, array: input([100]) },
      { blob, array: input([8, 16]) },
    ])
    expect(spec.tasks.map((t) => [t.outputs[0]!.shape, t.workgroups])).toEqual([
      [[100], [2, 1, 1]],
      [
        [8, 16],
        [2, 1, 1],
      ],
    ])
    expect(CustomJobSpecSchema.safeParse(spec).success).toBe(true)
    const fixed = customJobSpec(
      { ...form, outputShape: '4, 4', workgroups: '1,2,3', outputDtype: 'uint32' },
      [{ blob, array: input([100]) }],
    )
    expect(fixed.tasks[0]).toMatchObject({
      outputs: [{ shape: [4, 4], dtype: 'uint32' }],
      workgroups: [1, 2, 3],
    })
  })

  it('refuses what the relay would, naming the field', () => {
    const one = [{ blob, array: input([4]) }]
    expect(() => customJobSpec({ ...form, wgsl: ' ' }, one)).toThrow(/WGSL program/)
    expect(() => customJobSpec({ ...form, entryPoint: '1x' }, one)).toThrow(/entry point "1x"/)
    expect(() => customJobSpec({ ...form, outputDtype: 'float64' }, one)).toThrow(/output dtype/)
    expect(() => customJobSpec({ ...form, outputShape: '4, -1' }, one)).toThrow(/output shape/)
    expect(() => customJobSpec({ ...form, workgroups: '1, 2' }, one)).toThrow(/workgroups/)
    expect(() => customJobSpec(form, [])).toThrow(/at least one input/)
    expect(() => customJobSpec(form, [...one, { blob, array: input([4], 'int32') }])).toThrow(
      /same dtype/,
    )
  })
})
