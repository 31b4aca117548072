import { BYTES_PER_ELEMENT } from '@tabswarm/protocol'
import { KernelShapeError } from '../../errors.ts'
import { assertBufferFits } from '../../host/buffer-limits.ts'
import type { ProgramBuffer } from '../../host/gpu-program.ts'
import type { HostLimits } from '../../host/kernel-types.ts'
import { assertDimension } from '../common/assert-dimension.ts'
import {
  type FloatData,
  type FloatDtype,
  floatDtypeOf,
  floatInputWgsl,
  floatLength,
} from '../common/float-dtype.ts'
import { addFloatResult, addInput, groupsFor, type KernelPlan } from '../common/kernel-plan.ts'
import type {
  ActivationOp,
  ActivationRequest,
  BiasAddRequest,
  ResidualAddRequest,
} from './elementwise-request.ts'

const THREADS = 256

/** WGSL of each activation, as a function of `v: f32`. */
const ACTIVATIONS: Record<ActivationOp, string> = {
  relu: 'max(v, 0.0)',
  // tanh's argument is clamped: tanh(±10) is ±1 in f32, and some tanh implementations
  // compute (e²ᶻ−1)/(e²ᶻ+1), which is Inf/Inf = NaN for large z.
  gelu: '0.5 * v * (1.0 + tanh(clamp(0.7978845608028654 * (v + 0.044715 * v * v * v), -10.0, 10.0)))',
  silu: 'v / (1.0 + exp(-v))',
}

function elementwiseWgsl(
  inputs: string[],
  dtype: FloatDtype,
  expression: string,
  helpers: string,
): string {
  const declarations = inputs.map((name, i) => floatInputWgsl(name, i, dtype)).join('\n')
  return /* wgsl */ `
struct Params { groupOffsetX: u32, groupOffsetY: u32, groupOffsetZ: u32, groupPad: u32, count: u32, cols: u32 }
${declarations}
@group(0) @binding(${inputs.length}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${inputs.length + 1}) var<uniform> params: Params;

${helpers}

@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + params.groupOffsetX) * ${THREADS}u + li;
  if (i >= params.count) {
    return;
  }
  y[i] = ${expression};
}
`
}

function planElementwise(
  name: string,
  inputs: { name: string; data: FloatData }[],
  dtype: FloatDtype,
  expression: string,
  count: number,
  cols: number,
  limits: HostLimits,
  helpers = '',
): KernelPlan<FloatData> {
  for (const input of inputs) {
    const bytes = input.data.length * BYTES_PER_ELEMENT[dtype]
    assertBufferFits(input.name, `${input.data.length} elements`, bytes, limits)
  }
  assertBufferFits('y', `${count}*4`, count * 4, limits)
  const buffers: ProgramBuffer[] = []
  const reads = inputs.map((input) => addInput(buffers, input.name, input.data))
  const result = addFloatResult(buffers, 'y', count, dtype)
  const code = elementwiseWgsl(
    inputs.map((input) => input.name),
    dtype,
    expression,
    helpers,
  )
  return {
    program: {
      label: name,
      buffers,
      outputs: [result.output],
      passes: [
        {
          key: code,
          label: `${name}-${dtype}`,
          code,
          reads,
          writes: [result.target],
          uniform: 'grid',
          params: new Uint32Array([count, cols, 0, 0]),
          grid: [groupsFor(count, THREADS), 1, 1],
          workPerWorkgroup: THREADS * 32,
        },
        ...result.finish,
      ],
    },
    decode: ([bytes]) => result.decode(bytes as ArrayBuffer),
  }
}

/** Plan `y = op(x)`. Throws `KernelShapeError`/`KernelLimitError` before any GPU work. */
export function planActivation(
  request: ActivationRequest,
  limits: HostLimits,
): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { op } = request
  if (typeof op !== 'string' || !Object.hasOwn(ACTIVATIONS, op)) {
    throw new KernelShapeError(
      `op must be one of ${Object.keys(ACTIVATIONS).join(', ')}, got ${String(op)}.`,
    )
  }
  const count = floatLength('x', request.x, dtype)
  return planElementwise(
    `activation-${op}`,
    [{ name: 'x', data: request.x }],
    dtype,
    'activate(xAt(i))',
    count,
    1,
    limits,
    `fn activate(v: f32) -> f32 { return ${ACTIVATIONS[op]}; }`,
  )
}

/** Plan `y[r, c] = x[r, c] + bias[c]`. */
export function planBiasAdd(request: BiasAddRequest, limits: HostLimits): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { rows, cols } = request
  assertDimension('rows', rows)
  assertDimension('cols', cols)
  const count = floatLength('x', request.x, dtype)
  if (count !== rows * cols) {
    throw new KernelShapeError(`x.length (${count}) must equal rows*cols (${rows}*${cols}).`)
  }
  const biasLength = floatLength('bias', request.bias, dtype)
  if (biasLength !== cols) {
    throw new KernelShapeError(`bias.length (${biasLength}) must equal cols (${cols}).`)
  }
  return planElementwise(
    'bias-add',
    [
      { name: 'x', data: request.x },
      { name: 'bias', data: request.bias },
    ],
    dtype,
    'xAt(i) + biasAt(i % params.cols)',
    count,
    cols,
    limits,
  )
}

/** Plan `y = x + residual`. */
export function planResidualAdd(
  request: ResidualAddRequest,
  limits: HostLimits,
): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const count = floatLength('x', request.x, dtype)
  const other = floatLength('residual', request.residual, dtype)
  if (other !== count) {
    throw new KernelShapeError(`residual.length (${other}) must equal x.length (${count}).`)
  }
  return planElementwise(
    'residual-add',
    [
      { name: 'x', data: request.x },
      { name: 'residual', data: request.residual },
    ],
    dtype,
    'xAt(i) + residualAt(i)',
    count,
    1,
    limits,
  )
}
