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
import { addFloatResult, addInput, type KernelPlan } from '../common/kernel-plan.ts'
import type {
  LayerNormRequest,
  ReduceRequest,
  RmsNormRequest,
  SoftmaxRequest,
} from './transformer-requests.ts'

/** Invocations per row: each strides over the row, then they combine in workgroup memory. */
const THREADS = 64

/**
 * Row-wise kernels share one shape: one workgroup per row, 64 invocations striding over
 * its columns (coalesced reads), tree reductions in workgroup memory. `body` is WGSL
 * run with `row`, `base` (first element of the row) and `li` in scope; it may call
 * `rowSum(v)` and `rowMax(v)`, which every invocation must reach (uniform control flow).
 */
function rowWgsl(inputs: string[], dtype: FloatDtype, body: string): string {
  const declarations = inputs.map((name, i) => floatInputWgsl(name, i, dtype)).join('\n')
  return /* wgsl */ `
struct Params { groupOffsetX: u32, groupOffsetY: u32, groupOffsetZ: u32, groupPad: u32, rows: u32, cols: u32, epsilon: f32, pad: u32 }
${declarations}
@group(0) @binding(${inputs.length}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${inputs.length + 1}) var<uniform> params: Params;
var<workgroup> partials: array<f32, ${THREADS}>;

fn rowSum(value: f32, li: u32) -> f32 {
  partials[li] = value;
  workgroupBarrier();
  for (var width = ${THREADS / 2}u; width > 0u; width >>= 1u) {
    if (li < width) {
      partials[li] = partials[li] + partials[li + width];
    }
    workgroupBarrier();
  }
  let total = partials[0];
  workgroupBarrier();
  return total;
}

fn rowMax(value: f32, li: u32) -> f32 {
  partials[li] = value;
  workgroupBarrier();
  for (var width = ${THREADS / 2}u; width > 0u; width >>= 1u) {
    if (li < width) {
      partials[li] = max(partials[li], partials[li + width]);
    }
    workgroupBarrier();
  }
  let total = partials[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + params.groupOffsetX;
  if (row >= params.rows) {
    return;
  }
  let cols = params.cols;
  let base = row * cols;
${body}
}
`
}

type RowPlanInput = {
  name: string
  inputs: { name: string; data: FloatData }[]
  dtype: FloatDtype
  rows: number
  cols: number
  outputCount: number
  epsilon: number
  body: string
  limits: HostLimits
  /** FLOP-like cost per element. */
  workPerElement: number
}

function planRows(p: RowPlanInput): KernelPlan<FloatData> {
  for (const input of p.inputs) {
    const bytes = input.data.length * BYTES_PER_ELEMENT[p.dtype]
    assertBufferFits(input.name, `${input.data.length} elements`, bytes, p.limits)
  }
  assertBufferFits('y', `${p.outputCount}*4`, p.outputCount * 4, p.limits)
  const buffers: ProgramBuffer[] = []
  const reads = p.inputs.map((input) => addInput(buffers, input.name, input.data))
  const result = addFloatResult(buffers, 'y', p.outputCount, p.dtype)
  const code = rowWgsl(
    p.inputs.map((input) => input.name),
    p.dtype,
    p.body,
  )
  const params = new ArrayBuffer(16)
  new Uint32Array(params, 0, 2).set([p.rows, p.cols])
  new Float32Array(params, 8, 1)[0] = p.epsilon
  return {
    program: {
      label: p.name,
      buffers,
      outputs: [result.output],
      passes: [
        {
          key: code,
          label: `${p.name}-${p.dtype}`,
          code,
          reads,
          writes: [result.target],
          uniform: 'grid',
          params: new Uint8Array(params),
          grid: [p.rows, 1, 1],
          workPerWorkgroup: p.cols * p.workPerElement,
        },
        ...result.finish,
      ],
    },
    decode: ([bytes]) => result.decode(bytes as ArrayBuffer),
  }
}

function assertRows(request: { x: unknown; rows: unknown; cols: unknown }, dtype: FloatDtype) {
  const { rows, cols } = request
  assertDimension('rows', rows)
  assertDimension('cols', cols)
  const length = floatLength('x', request.x, dtype)
  if (length !== rows * cols) {
    throw new KernelShapeError(`x.length (${length}) must equal rows*cols (${rows}*${cols}).`)
  }
  return { rows, cols }
}

function assertVector(name: string, data: unknown, dtype: FloatDtype, cols: number): void {
  const length = floatLength(name, data, dtype)
  if (length !== cols) {
    throw new KernelShapeError(`${name}.length (${length}) must equal cols (${cols}).`)
  }
}

function epsilonOf(value: unknown, fallback: number): number {
  const epsilon = value ?? fallback
  if (typeof epsilon !== 'number' || !(epsilon >= 0) || !Number.isFinite(epsilon)) {
    throw new KernelShapeError(`epsilon must be a finite number >= 0, got ${String(value)}.`)
  }
  return epsilon
}

const STRIDE = `for (var c = li; c < cols; c += ${THREADS}u)`

/** Plan LayerNorm: mean, then variance from the centred values (two passes over the row, stable). */
export function planLayerNorm(
  request: LayerNormRequest,
  limits: HostLimits,
): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { rows, cols } = assertRows(request, dtype)
  assertVector('gamma', request.gamma, dtype, cols)
  assertVector('beta', request.beta, dtype, cols)
  return planRows({
    name: 'layer-norm',
    inputs: [
      { name: 'x', data: request.x },
      { name: 'gamma', data: request.gamma },
      { name: 'beta', data: request.beta },
    ],
    dtype,
    rows,
    cols,
    outputCount: rows * cols,
    epsilon: epsilonOf(request.epsilon, 1e-5),
    limits,
    workPerElement: 8,
    body: `
  var sum = 0.0;
  ${STRIDE} { sum += xAt(base + c); }
  let mean = rowSum(sum, li) / f32(cols);
  var squares = 0.0;
  ${STRIDE} { let d = xAt(base + c) - mean; squares = fma(d, d, squares); }
  let inv = inverseSqrt(rowSum(squares, li) / f32(cols) + params.epsilon);
  ${STRIDE} { y[base + c] = fma((xAt(base + c) - mean) * inv, gammaAt(c), betaAt(c)); }`,
  })
}

/** Plan RMSNorm: `x / √(mean(x²) + ε) · gamma`. */
export function planRmsNorm(request: RmsNormRequest, limits: HostLimits): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { rows, cols } = assertRows(request, dtype)
  assertVector('gamma', request.gamma, dtype, cols)
  return planRows({
    name: 'rms-norm',
    inputs: [
      { name: 'x', data: request.x },
      { name: 'gamma', data: request.gamma },
    ],
    dtype,
    rows,
    cols,
    outputCount: rows * cols,
    epsilon: epsilonOf(request.epsilon, 1e-6),
    limits,
    workPerElement: 6,
    body: `
  var squares = 0.0;
  ${STRIDE} { let v = xAt(base + c); squares = fma(v, v, squares); }
  let inv = inverseSqrt(rowSum(squares, li) / f32(cols) + params.epsilon);
  ${STRIDE} { y[base + c] = xAt(base + c) * inv * gammaAt(c); }`,
  })
}

/**
 * Seed of a row max: an element of the row (WGSL has no −Infinity literal, and a finite
 * stand-in would be wrong for rows of −Infinity).
 */
const FIRST = 'xAt(base + min(li, cols - 1u))'

/** Plan a row-wise softmax: subtract the row max before `exp`, so it never overflows. */
export function planSoftmax(request: SoftmaxRequest, limits: HostLimits): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { rows, cols } = assertRows(request, dtype)
  return planRows({
    name: 'softmax',
    inputs: [{ name: 'x', data: request.x }],
    dtype,
    rows,
    cols,
    outputCount: rows * cols,
    epsilon: 0,
    limits,
    workPerElement: 12,
    body: `
  var top = ${FIRST};
  ${STRIDE} { top = max(top, xAt(base + c)); }
  let rowTop = rowMax(top, li);
  var sum = 0.0;
  ${STRIDE} { sum += exp(xAt(base + c) - rowTop); }
  let scale = 1.0 / rowSum(sum, li);
  ${STRIDE} { y[base + c] = exp(xAt(base + c) - rowTop) * scale; }`,
  })
}

/** Plan a row-wise sum or max to `rows` values. */
export function planReduce(request: ReduceRequest, limits: HostLimits): KernelPlan<FloatData> {
  const dtype = floatDtypeOf(request.dtype)
  const { rows, cols } = assertRows(request, dtype)
  const { op } = request
  if (op !== 'sum' && op !== 'max') {
    throw new KernelShapeError(`op must be sum or max, got ${String(op)}.`)
  }
  const body =
    op === 'sum'
      ? `
  var acc = 0.0;
  ${STRIDE} { acc += xAt(base + c); }
  let total = rowSum(acc, li);
  if (li == 0u) { y[row] = total; }`
      : `
  var acc = ${FIRST};
  ${STRIDE} { acc = max(acc, xAt(base + c)); }
  let total = rowMax(acc, li);
  if (li == 0u) { y[row] = total; }`
  return planRows({
    name: `reduce-${op}`,
    inputs: [{ name: 'x', data: request.x }],
    dtype,
    rows,
    cols,
    outputCount: rows,
    epsilon: 0,
    limits,
    workPerElement: 2,
    body,
  })
}
