import type { NdArray, TensorDtype } from '@tabswarm/protocol'
import { TENSOR_DTYPES } from '@tabswarm/protocol'
import type { JobSpec } from '@tabswarm/sdk'

/** What the custom-kernel form holds, as `tabswarm run`'s spec file says it. */
export interface CustomForm {
  wgsl: string
  entryPoint: string
  outputDtype: string
  /** "input" (each output shaped as its task's input) or dimensions: "64" or "8, 8". */
  outputShape: string
  /** Workgroups per task: "x, y, z", or one number, the elements each workgroup covers. */
  workgroups: string
}

const dims = (text: string, what: string): number[] => {
  const parts = text.split(/[\s,×x]+/).filter((p) => p.length > 0)
  const values = parts.map(Number)
  if (parts.length === 0 || values.some((v) => !Number.isSafeInteger(v) || v < 1))
    throw new Error(
      `${what}: expected positive whole numbers separated by commas, got "${text.slice(0, 40)}"`,
    )
  return values
}

/**
 * The custom job `tabswarm run` would submit: one task per input file, its output shaped
 * as the form says, its workgroups fixed or covering its input's elements.
 */
export function customJobSpec(
  form: CustomForm,
  inputs: ReadonlyArray<{ blob: string; array: NdArray }>,
): Extract<JobSpec, { kernel: 'custom' }> {
  if (form.wgsl.trim().length === 0) throw new Error('write the WGSL program or choose its file')
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(form.entryPoint))
    throw new Error(`entry point "${form.entryPoint.slice(0, 40)}" is not a WGSL function name`)
  if (!TENSOR_DTYPES.includes(form.outputDtype as TensorDtype))
    throw new Error(`output dtype must be one of ${TENSOR_DTYPES.join(', ')}`)
  if (inputs.length === 0) throw new Error('choose at least one input .npy file: one task per file')
  const dtype = inputs[0]!.array.dtype
  const odd = inputs.find((i) => i.array.dtype !== dtype)
  if (odd)
    throw new Error(
      `every input must have the same dtype; the first is ${dtype}, another is ${odd.array.dtype}`,
    )
  const outputDtype = form.outputDtype as TensorDtype
  const fixedShape =
    form.outputShape.trim() === 'input' ? undefined : dims(form.outputShape, 'output shape')
  const workgroupDims = dims(form.workgroups, 'workgroups')
  if (workgroupDims.length !== 1 && workgroupDims.length !== 3)
    throw new Error(
      'workgroups: give three numbers (x, y, z), or one, the elements each workgroup covers',
    )
  return {
    kernel: 'custom',
    program: {
      wgsl: form.wgsl,
      entryPoint: form.entryPoint,
      inputs: [{ name: 'input', dtype }],
      outputs: [{ name: 'output', dtype: outputDtype }],
    },
    tasks: inputs.map(({ blob, array }) => {
      const elements = array.shape.reduce((p, d) => p * d, 1)
      return {
        inputs: [{ blob, dtype: array.dtype, shape: array.shape }],
        outputs: [{ shape: fixedShape ?? array.shape, dtype: outputDtype }],
        workgroups:
          workgroupDims.length === 3
            ? (workgroupDims as [number, number, number])
            : [Math.max(1, Math.ceil(elements / workgroupDims[0]!)), 1, 1],
      }
    }),
  }
}
