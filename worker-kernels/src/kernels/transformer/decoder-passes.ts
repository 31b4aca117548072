/**
 * The compute passes a decoder layer is built from, as `ProgramPass` builders over buffer
 * indices: the fused `decoder-layers` kernel strings them into one `GpuProgram` (a stage
 * step is one `run`, nothing read back between ops), and the standalone `rope` and
 * `swiglu` kernels plan single passes from the same builders, so what the kernel tests
 * check is the code the decoder runs.
 *
 * Every pass is plain: one invocation per output element (or per row for the norms, per
 * query row and head for attention), f32 arithmetic, weights read as f32 or f16 bits
 * (`floatInputWgsl`); only `linear` also has an f16-arithmetic form, for `shader-f16`
 * devices (`decoder-compute.ts`). They favour obvious correctness over peak speed; the matmul-heavy
 * ones (`linear`) are where a tiled kernel would go next.
 */
import { GRID_HEADER_WGSL, type ProgramPass } from '../../host/gpu-program.ts'
import { type FloatDtype, floatInputWgsl } from '../common/float-dtype.ts'
import { groupsFor } from '../common/kernel-plan.ts'
import type { DecoderCompute } from './decoder-compute.ts'

const THREADS = 64

/** A uniform field: a u32, or an f32 written as `{ f32 }`. */
type Field = number | { f32: number }

/** Pack uniform fields (after the grid header) into whole 16-byte rows. */
function packParams(fields: Field[]): Uint32Array {
  const words = new Uint32Array(Math.max(4, Math.ceil(fields.length / 4) * 4))
  const floats = new Float32Array(words.buffer)
  fields.forEach((field, i) => {
    if (typeof field === 'number') words[i] = field
    else floats[i] = field.f32
  })
  return words
}

function paramsStruct(fields: Record<string, 'u32' | 'f32'>): string {
  const body = Object.entries(fields)
    .map(([name, type]) => `${name}: ${type},`)
    .join(' ')
  return `struct Params { ${GRID_HEADER_WGSL} ${body} }`
}

const INDEX = `let i = (wg.x + params.groupOffsetX) * ${THREADS}u + li;`
const ENTRY = `@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32)`

function pass(
  label: string,
  code: string,
  reads: number[],
  writes: number[],
  fields: Field[],
  groups: number,
  workPerWorkgroup: number,
): ProgramPass {
  return {
    key: code,
    label,
    code,
    reads,
    writes,
    uniform: 'grid',
    params: packParams(fields),
    grid: [Math.max(1, groups), 1, 1],
    workPerWorkgroup: Math.max(1, workPerWorkgroup),
  }
}

/** `dst = src` (f32), e.g. the residual stream entering a stage. */
export function copyPass(src: number, dst: number, count: number): ProgramPass {
  const code = /* wgsl */ `
${paramsStruct({ count: 'u32' })}
@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
${ENTRY} {
  ${INDEX}
  if (i >= params.count) { return; }
  dst[i] = src[i];
}`
  return pass('copy', code, [src], [dst], [count], groupsFor(count, THREADS), THREADS)
}

/**
 * `y[r, :] = table[ids[r], :] (+ positions[start + r, :])`: token embedding plus learned
 * positions. Ids are range-checked on the CPU before upload.
 */
export function embedPass(p: {
  ids: number
  table: number
  positions: number | undefined
  y: number
  dtype: FloatDtype
  rows: number
  hidden: number
  start: number
}): ProgramPass {
  const learned = p.positions !== undefined
  const code = /* wgsl */ `
${paramsStruct({ rows: 'u32', hidden: 'u32', start: 'u32' })}
@group(0) @binding(0) var<storage, read> ids: array<i32>;
${floatInputWgsl('table', 1, p.dtype)}
${learned ? floatInputWgsl('positions', 2, p.dtype) : ''}
@group(0) @binding(${learned ? 3 : 2}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${learned ? 4 : 3}) var<uniform> params: Params;
${ENTRY} {
  ${INDEX}
  if (i >= params.rows * params.hidden) { return; }
  let r = i / params.hidden;
  let c = i % params.hidden;
  var v = tableAt(u32(ids[r]) * params.hidden + c);
  ${learned ? 'v = v + positionsAt((params.start + r) * params.hidden + c);' : ''}
  y[i] = v;
}`
  const reads = learned ? [p.ids, p.table, p.positions as number] : [p.ids, p.table]
  const count = p.rows * p.hidden
  return pass(
    `embed-${p.dtype}`,
    code,
    reads,
    [p.y],
    [p.rows, p.hidden, p.start],
    groupsFor(count, THREADS),
    THREADS,
  )
}

/**
 * LayerNorm (`(x − mean)/√(var + ε)·γ + β`, biased variance) or RMSNorm
 * (`x/√(mean(x²) + ε)·γ`) of rows `firstRow …` of `x` into `y`'s rows `0 …`: one
 * workgroup per row, a tree reduction in workgroup memory.
 */
export function normPass(p: {
  kind: 'layernorm' | 'rmsnorm'
  x: number
  gamma: number
  beta: number | undefined
  y: number
  dtype: FloatDtype
  rows: number
  cols: number
  epsilon: number
  firstRow?: number
}): ProgramPass {
  const shifted = p.beta !== undefined
  const code = /* wgsl */ `
${paramsStruct({ rows: 'u32', cols: 'u32', epsilon: 'f32', firstRow: 'u32' })}
@group(0) @binding(0) var<storage, read> x: array<f32>;
${floatInputWgsl('gamma', 1, p.dtype)}
${shifted ? floatInputWgsl('beta', 2, p.dtype) : ''}
@group(0) @binding(${shifted ? 3 : 2}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${shifted ? 4 : 3}) var<uniform> params: Params;
var<workgroup> partials: array<f32, ${THREADS}>;

fn rowSum(value: f32, li: u32) -> f32 {
  partials[li] = value;
  workgroupBarrier();
  for (var width = ${THREADS / 2}u; width > 0u; width >>= 1u) {
    if (li < width) { partials[li] = partials[li] + partials[li + width]; }
    workgroupBarrier();
  }
  let total = partials[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + params.groupOffsetX;
  if (row >= params.rows) { return; }
  let cols = params.cols;
  let base = (params.firstRow + row) * cols;
  let n = f32(cols);
  var mean = 0.0;
  ${
    p.kind === 'layernorm'
      ? `var part = 0.0;
  for (var c = li; c < cols; c += ${THREADS}u) { part += x[base + c]; }
  mean = rowSum(part, li) / n;`
      : ''
  }
  var squares = 0.0;
  for (var c = li; c < cols; c += ${THREADS}u) {
    let d = x[base + c] - mean;
    squares += d * d;
  }
  let s = 1.0 / sqrt(rowSum(squares, li) / n + params.epsilon);
  for (var c = li; c < cols; c += ${THREADS}u) {
    y[row * cols + c] = (x[base + c] - mean) * s * gammaAt(c)${shifted ? ' + betaAt(c)' : ''};
  }
}`
  const reads = shifted ? [p.x, p.gamma, p.beta as number] : [p.x, p.gamma]
  return pass(
    `${p.kind}-${p.dtype}`,
    code,
    reads,
    [p.y],
    [p.rows, p.cols, { f32: p.epsilon }, p.firstRow ?? 0],
    p.rows,
    p.cols * 8,
  )
}

/**
 * A linear layer over columns `colStart … colStart + cols − 1` of a weight with `outDim`
 * outputs: `y[r, c] (+)= Σ_k x[r, k]·W(k, colStart + c) + bias[colStart + c]`. `W` is
 * `[in, out]` (`in-out`, GPT-2's Conv1D) or `[out, in]` (`out-in`, nn.Linear); a column
 * range lets the fused QKV weight feed q, k and v buffers in three passes. `accumulate`
 * adds into `y` (the residual connection) instead of overwriting it.
 *
 * `compute: 'float16'` (float16 weights, a device with `shader-f16`: `selectDecoderCompute`)
 * declares the weight and bias `array<f16>` under `enable f16;` and rounds each x to f16
 * before an f16 product, summing the products in f32; otherwise the weights are unpacked
 * to f32 (`floatInputWgsl`) and everything is f32.
 */
export function linearPass(p: {
  x: number
  w: number
  bias: number | undefined
  y: number
  dtype: FloatDtype
  order: 'in-out' | 'out-in'
  rows: number
  inDim: number
  outDim: number
  colStart: number
  cols: number
  accumulate: boolean
  /** @default 'float32' */
  compute?: DecoderCompute
}): ProgramPass {
  const f16 = p.compute === 'float16'
  if (f16 && p.dtype !== 'float16') {
    throw new RangeError(`a linear pass computes in f16 only on float16 weights, got ${p.dtype}.`)
  }
  const biased = p.bias !== undefined
  const wIndex = p.order === 'in-out' ? 'k * params.outDim + o' : 'o * params.inDim + k'
  const input = (name: string, binding: number) =>
    f16
      ? `@group(0) @binding(${binding}) var<storage, read> ${name}: array<f16>;`
      : floatInputWgsl(name, binding, p.dtype)
  // f16 path: one f16 product per term, f32 sum (see `decoder-compute.ts`).
  const term = f16 ? `f32(f16(x[xBase + k]) * w[${wIndex}])` : `x[xBase + k] * wAt(${wIndex})`
  const code = /* wgsl */ `${f16 ? 'enable f16;\n' : ''}
${paramsStruct({ rows: 'u32', inDim: 'u32', outDim: 'u32', colStart: 'u32', cols: 'u32' })}
@group(0) @binding(0) var<storage, read> x: array<f32>;
${input('w', 1)}
${biased ? input('bias', 2) : ''}
@group(0) @binding(${biased ? 3 : 2}) var<storage, read_write> y: array<f32>;
@group(0) @binding(${biased ? 4 : 3}) var<uniform> params: Params;
${ENTRY} {
  ${INDEX}
  if (i >= params.rows * params.cols) { return; }
  let r = i / params.cols;
  let o = params.colStart + i % params.cols;
  let xBase = r * params.inDim;
  var sum = 0.0;
  for (var k = 0u; k < params.inDim; k++) {
    sum += ${term};
  }
  ${biased ? `sum += ${f16 ? 'f32(bias[o])' : 'biasAt(o)'};` : ''}
  y[i] = ${p.accumulate ? 'y[i] + ' : ''}sum;
}`
  const reads = biased ? [p.x, p.w, p.bias as number] : [p.x, p.w]
  const count = p.rows * p.cols
  return pass(
    `linear-${p.order}-${p.dtype}${f16 ? '-f16-arithmetic' : ''}`,
    code,
    reads,
    [p.y],
    [p.rows, p.inDim, p.outDim, p.colStart, p.cols],
    groupsFor(count, THREADS),
    THREADS * p.inDim * 2,
  )
}

/**
 * Rotary position embedding, rotate-half (Hugging Face's Llama): in each head of
 * `headDim`, dimension k pairs with k + headDim/2 and turns by the angle whose cosine and
 * sine row r of `cos`/`sin` (`[rows, headDim/2]`, computed on the CPU in f64, since
 * WGSL's `cos`/`sin` only promise 2⁻¹¹ absolute accuracy) holds. In place on `x`
 * (`[rows, heads, headDim]` f32), or from `src` (f32 or f16) into `x`.
 */
export function ropePass(p: {
  x: number
  src?: { index: number; dtype: FloatDtype }
  cos: number
  sin: number
  rows: number
  heads: number
  headDim: number
}): ProgramPass {
  const copy = p.src !== undefined
  const half = p.headDim / 2
  const code = /* wgsl */ `
${paramsStruct({ rows: 'u32', heads: 'u32', headDim: 'u32', half: 'u32' })}
${copy ? floatInputWgsl('src', 0, p.src?.dtype ?? 'float32') : ''}
@group(0) @binding(${copy ? 1 : 0}) var<storage, read> cosines: array<f32>;
@group(0) @binding(${copy ? 2 : 1}) var<storage, read> sines: array<f32>;
@group(0) @binding(${copy ? 3 : 2}) var<storage, read_write> x: array<f32>;
@group(0) @binding(${copy ? 4 : 3}) var<uniform> params: Params;
${ENTRY} {
  ${INDEX}
  let perRow = params.heads * params.half;
  if (i >= params.rows * perRow) { return; }
  let r = i / perRow;
  let h = (i % perRow) / params.half;
  let k = i % params.half;
  let base = r * params.heads * params.headDim + h * params.headDim;
  let a = ${copy ? 'srcAt(base + k)' : 'x[base + k]'};
  let b = ${copy ? 'srcAt(base + k + params.half)' : 'x[base + k + params.half]'};
  let c = cosines[r * params.half + k];
  let s = sines[r * params.half + k];
  x[base + k] = a * c - b * s;
  x[base + k + params.half] = b * c + a * s;
}`
  const reads = copy ? [p.src?.index as number, p.cos, p.sin] : [p.cos, p.sin]
  const count = p.rows * p.heads * half
  return pass(
    copy ? `rope-${p.src?.dtype}` : 'rope',
    code,
    reads,
    [p.x],
    [p.rows, p.heads, p.headDim, half],
    groupsFor(count, THREADS),
    THREADS * 6,
  )
}

/** Cosines and sines of `position·θ^(−2k/headDim)` for each row's position, `[rows, headDim/2]`, in f64 rounded to f32. */
export function ropeTables(
  positions: ArrayLike<number>,
  headDim: number,
  theta: number,
): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2
  const cos = new Float32Array(positions.length * half)
  const sin = new Float32Array(positions.length * half)
  for (let r = 0; r < positions.length; r++) {
    for (let k = 0; k < half; k++) {
      const angle = (positions[r] as number) * theta ** (-(2 * k) / headDim)
      cos[r * half + k] = Math.cos(angle)
      sin[r * half + k] = Math.sin(angle)
    }
  }
  return { cos, sin }
}

const GELU = (v: string) =>
  `0.5 * ${v} * (1.0 + tanh(clamp(0.7978845608028654 * (${v} + 0.044715 * ${v} * ${v} * ${v}), -10.0, 10.0)))`
const SILU = (v: string) => `(${v} / (1.0 + exp(-${v})))`

/** `x = gelu(x)` in place (tanh form, GPT-2's `gelu_new`). */
export function geluPass(x: number, count: number): ProgramPass {
  const code = /* wgsl */ `
${paramsStruct({ count: 'u32' })}
@group(0) @binding(0) var<storage, read_write> x: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;
${ENTRY} {
  ${INDEX}
  if (i >= params.count) { return; }
  let v = x[i];
  x[i] = ${GELU('v')};
}`
  return pass('gelu', code, [], [x], [count], groupsFor(count, THREADS), THREADS * 12)
}

/**
 * SwiGLU's gating, `silu(gate)·up` (Llama's MLP): into `up` in place (f32 operands), or
 * from `gate` and `up` of `dtype` into `y`.
 */
export function swigluPass(p: {
  gate: number
  up: number
  y?: number
  dtype: FloatDtype
  count: number
}): ProgramPass {
  const copy = p.y !== undefined
  const code = copy
    ? /* wgsl */ `
${paramsStruct({ count: 'u32' })}
${floatInputWgsl('gate', 0, p.dtype)}
${floatInputWgsl('up', 1, p.dtype)}
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;
${ENTRY} {
  ${INDEX}
  if (i >= params.count) { return; }
  let g = gateAt(i);
  y[i] = ${SILU('g')} * upAt(i);
}`
    : /* wgsl */ `
${paramsStruct({ count: 'u32' })}
@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read_write> up: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;
${ENTRY} {
  ${INDEX}
  if (i >= params.count) { return; }
  let g = gate[i];
  up[i] = ${SILU('g')} * up[i];
}`
  return pass(
    copy ? `swiglu-${p.dtype}` : 'swiglu',
    code,
    copy ? [p.gate, p.up] : [p.gate],
    copy ? [p.y as number] : [p.up],
    [p.count],
    groupsFor(p.count, THREADS),
    THREADS * 8,
  )
}

/**
 * Causal attention of `rows` new query rows (positions `start …`) against `start` cached
 * keys/values (`pastK`, `pastV`, `[start, kvHeads·headDim]`) followed by the new ones
 * (`newK`, `newV`, `[rows, kvHeads·headDim]`): one invocation per (row, head), scores
 * scaled by 1/√headDim, max-subtracted softmax, query head h reading key/value head
 * `h / (heads / kvHeads)`. Writes `out` `[rows, heads·headDim]`.
 */
export function decodeAttentionPass(p: {
  q: number
  pastK: number
  pastV: number
  newK: number
  newV: number
  out: number
  rows: number
  start: number
  heads: number
  kvHeads: number
  headDim: number
}): ProgramPass {
  const code = /* wgsl */ `
${paramsStruct({ rows: 'u32', start: 'u32', heads: 'u32', kvHeads: 'u32', headDim: 'u32', scale: 'f32' })}
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> pastK: array<f32>;
@group(0) @binding(2) var<storage, read> pastV: array<f32>;
@group(0) @binding(3) var<storage, read> newK: array<f32>;
@group(0) @binding(4) var<storage, read> newV: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<uniform> params: Params;

fn score(qBase: u32, j: u32, kvOffset: u32, kvDim: u32) -> f32 {
  var dot = 0.0;
  if (j < params.start) {
    let kBase = j * kvDim + kvOffset;
    for (var t = 0u; t < params.headDim; t++) { dot += q[qBase + t] * pastK[kBase + t]; }
  } else {
    let kBase = (j - params.start) * kvDim + kvOffset;
    for (var t = 0u; t < params.headDim; t++) { dot += q[qBase + t] * newK[kBase + t]; }
  }
  return dot * params.scale;
}

${ENTRY} {
  ${INDEX}
  if (i >= params.rows * params.heads) { return; }
  let r = i / params.heads;
  let h = i % params.heads;
  let headDim = params.headDim;
  let kvDim = params.kvHeads * headDim;
  let kvOffset = (h / (params.heads / params.kvHeads)) * headDim;
  let qBase = r * params.heads * headDim + h * headDim;
  let seen = params.start + r + 1u;
  var top = -3.0e38;
  for (var j = 0u; j < seen; j++) { top = max(top, score(qBase, j, kvOffset, kvDim)); }
  for (var t = 0u; t < headDim; t++) { out[qBase + t] = 0.0; }
  var sum = 0.0;
  for (var j = 0u; j < seen; j++) {
    let p = exp(score(qBase, j, kvOffset, kvDim) - top);
    sum += p;
    if (j < params.start) {
      let vBase = j * kvDim + kvOffset;
      for (var t = 0u; t < headDim; t++) { out[qBase + t] += p * pastV[vBase + t]; }
    } else {
      let vBase = (j - params.start) * kvDim + kvOffset;
      for (var t = 0u; t < headDim; t++) { out[qBase + t] += p * newV[vBase + t]; }
    }
  }
  for (var t = 0u; t < headDim; t++) { out[qBase + t] = out[qBase + t] / sum; }
}`
  const count = p.rows * p.heads
  return pass(
    'decode-attention',
    code,
    [p.q, p.pastK, p.pastV, p.newK, p.newV],
    [p.out],
    [p.rows, p.start, p.heads, p.kvHeads, p.headDim, { f32: 1 / Math.sqrt(p.headDim) }],
    groupsFor(count, THREADS),
    THREADS * (p.start + p.rows) * p.headDim * 6,
  )
}
