/**
 * The kernel suite that runs in a real browser worker: each case sends requests to the
 * kernel worker (the same `KernelWorkerApi` the contributor page uses), compares what
 * comes back with the f64 CPU references of `@tabswarm/worker-kernels` on the page, and
 * returns a plain outcome for Playwright. Cases named `control:` feed a wrong result to
 * the same comparison and pass only if it is rejected, so the suite cannot go green on
 * a comparator that accepts anything.
 */
import {
  activationReference,
  attentionReference,
  biasAddReference,
  compareElementwise,
  compareMatmul,
  embeddingReference,
  F32_UNIT_ROUNDOFF,
  type FloatData,
  type FloatDtype,
  freivaldsCheck,
  fromFloat16,
  type KernelRequest,
  type KernelWorkerApi,
  layerNormReference,
  type MatmulVariant,
  matmulReferenceWithBound,
  type ReferenceResult,
  reduceReference,
  residualAddReference,
  rmsNormReference,
  seededRandomF32,
  softmaxReference,
  toFloat16,
} from '@tabswarm/worker-kernels'

/** What a case reports to Playwright: structured-cloneable. */
export type CaseOutcome = { ok: boolean; detail: string }

/** The worker API as the page holds it (comlink's `Remote`, structurally). */
export type KernelWorker = Pick<KernelWorkerApi, 'run'>

/** One case of the suite. */
export type KernelCase = { name: string; run(worker: KernelWorker): Promise<CaseOutcome> }

/** Deadline of one kernel call inside the worker (SwiftShader runs 1024³ in a few seconds). */
const CALL_TIMEOUT_MS = 60_000

function data(length: number, seed: number, dtype: FloatDtype, scale = 1): FloatData {
  const values = seededRandomF32(length, seed).map((v) => v * scale)
  return dtype === 'float32' ? values : toFloat16(values)
}

function describe(result: { ok: boolean; worstIndex: number; worstRatio: number }): string {
  return `ok=${result.ok} worstIndex=${result.worstIndex} error/tolerance=${result.worstRatio.toPrecision(3)}`
}

/** A built-in kernel against its reference, element by element under its tolerance. */
function elementwiseCase(
  name: string,
  request: () => KernelRequest,
  reference: (request: never) => ReferenceResult,
): KernelCase {
  return {
    name,
    async run(worker) {
      const built = request()
      const dtype = ('dtype' in built ? built.dtype : undefined) ?? 'float32'
      const actual = (await worker.run(built, { timeoutMs: CALL_TIMEOUT_MS })) as FloatData
      const result = compareElementwise(actual, reference(built as never), { dtype })
      return { ok: result.ok, detail: describe(result) }
    },
  }
}

/** Batched matmul against the f64 reference (with its |A|·|B| bound), batch by batch. */
function matmulCase(
  [m, k, n]: readonly [number, number, number],
  options: { variant?: MatmulVariant; dtype?: FloatDtype; batch?: number } = {},
): KernelCase {
  const { variant = 'auto', dtype = 'float32', batch = 1 } = options
  return {
    name: `matmul ${variant} ${dtype} ${m}x${k}x${n}${batch > 1 ? ` batch ${batch}` : ''}`,
    async run(worker) {
      const seed = m * 7919 + k * 31 + n
      const a = data(batch * m * k, seed, dtype)
      const b = data(batch * k * n, seed + 1, dtype)
      const raw = (await worker.run(
        // f32 arithmetic on every adapter, so f32's bound applies (an adapter with shader-f16
        // would otherwise multiply float16 data in f16: see matmul-f16.test.ts).
        { kernel: 'matmul', a, b, m, k, n, batch, variant, dtype, compute: 'float32' },
        { timeoutMs: CALL_TIMEOUT_MS },
      )) as FloatData
      const f16 = dtype === 'float16'
      const decode = (x: FloatData) => (f16 ? fromFloat16(x as Uint16Array) : (x as Float32Array))
      const [a32, b32, c32] = [decode(a), decode(b), decode(raw)]
      if (c32.length !== batch * m * n) {
        return { ok: false, detail: `length ${c32.length}, want ${batch * m * n}` }
      }
      for (let i = 0; i < batch; i++) {
        const ai = a32.subarray(i * m * k, (i + 1) * m * k)
        const bi = b32.subarray(i * k * n, (i + 1) * k * n)
        const ci = c32.subarray(i * m * n, (i + 1) * m * n)
        const { c, bound } = matmulReferenceWithBound(ai, bi, m, k, n)
        const result = compareMatmul(ci, c, { k, bound, dtype: f16 ? 'f16' : 'f32' })
        if (!result.ok) return { ok: false, detail: `batch ${i}: ${describe(result)}` }
      }
      return { ok: true, detail: `${batch * m * n} elements within tolerance` }
    },
  }
}

const MATMUL_SHAPES = [
  [1, 1, 1],
  [2, 3, 5],
  [7, 13, 5],
  [31, 37, 41],
  [97, 101, 89],
  [65, 33, 99],
  [129, 257, 65],
  [300, 200, 130],
  [1, 512, 300],
  [300, 512, 1],
  [512, 512, 512],
] as const

const NORM_SHAPES = [
  [1, 1],
  [3, 7],
  [17, 64],
  [5, 1000],
  [2, 4099],
] as const

const BROKEN_WGSL = `@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(1)
fn main() {
  y[0] = undeclared_value;
}`

/** Every case, in order. Names are unique; the Playwright test makes one test per name. */
export const KERNEL_CASES: KernelCase[] = [
  ...MATMUL_SHAPES.map((shape) => matmulCase(shape)),
  matmulCase([1024, 1024, 1024], { variant: 'tiled' }),
  ...(
    [
      [1, 1, 1],
      [33, 17, 34],
      [129, 64, 65],
    ] as const
  ).map((shape) => matmulCase(shape, { variant: 'naive' })),
  matmulCase([31, 64, 1], { variant: 'gemv' }),
  matmulCase([17, 23, 29], { variant: 'tiled', batch: 3 }),
  matmulCase([33, 47, 29], { variant: 'tiled', dtype: 'float16' }),
  matmulCase([1, 129, 67], { variant: 'gemv', dtype: 'float16' }),

  ...(['float32', 'float16'] as const).flatMap((dtype) => [
    ...(['relu', 'gelu', 'silu'] as const).flatMap((op) =>
      (
        [
          [1, 1],
          [257, 6],
          [40_001, 12],
        ] as const
      ).map(([count, scale]) =>
        elementwiseCase(
          `activation ${op} ${dtype} ${count}`,
          () => ({ kernel: 'activation', op, x: data(count, count, dtype, scale), dtype }),
          activationReference,
        ),
      ),
    ),
    elementwiseCase(
      `bias-add ${dtype} 5x301`,
      () => ({
        kernel: 'bias-add',
        x: data(5 * 301, 1, dtype, 3),
        bias: data(301, 2, dtype, 3),
        rows: 5,
        cols: 301,
        dtype,
      }),
      biasAddReference,
    ),
    elementwiseCase(
      `residual-add ${dtype} 1031`,
      () => ({
        kernel: 'residual-add',
        x: data(1031, 3, dtype, 100),
        residual: data(1031, 4, dtype, 0.01),
        dtype,
      }),
      residualAddReference,
    ),
    ...NORM_SHAPES.flatMap(([rows, cols]) => [
      elementwiseCase(
        `layer-norm ${dtype} ${rows}x${cols}`,
        () => ({
          kernel: 'layer-norm',
          x: data(rows * cols, rows + cols, dtype, 4),
          gamma: data(cols, 2, dtype, 2),
          beta: data(cols, 3, dtype),
          rows,
          cols,
          dtype,
        }),
        layerNormReference,
      ),
      elementwiseCase(
        `rms-norm ${dtype} ${rows}x${cols}`,
        () => ({
          kernel: 'rms-norm',
          x: data(rows * cols, rows * cols, dtype, 3),
          gamma: data(cols, 5, dtype, 2),
          rows,
          cols,
          dtype,
        }),
        rmsNormReference,
      ),
      elementwiseCase(
        `softmax ${dtype} ${rows}x${cols}`,
        () => ({ kernel: 'softmax', x: data(rows * cols, cols, dtype, 60), rows, cols, dtype }),
        softmaxReference,
      ),
      ...(['sum', 'max'] as const).map((op) =>
        elementwiseCase(
          `reduce ${op} ${dtype} ${rows}x${cols}`,
          () => ({ kernel: 'reduce', op, x: data(rows * cols, 9, dtype), rows, cols, dtype }),
          reduceReference,
        ),
      ),
    ]),
    ...(
      [
        [1, 1, 1, true],
        [2, 7, 5, true],
        [3, 67, 16, true],
        [1, 130, 64, false],
        [2, 33, 97, true],
        [1, 9, 130, true],
        [2, 5, 256, false],
      ] as const
    ).map(([heads, seqLen, headDim, causal]) =>
      elementwiseCase(
        `attention ${dtype} heads=${heads} seqLen=${seqLen} headDim=${headDim}${causal ? ' causal' : ''}`,
        () => {
          const count = heads * seqLen * headDim
          return {
            kernel: 'attention',
            q: data(count, 1, dtype, 2),
            k: data(count, 2, dtype, 2),
            v: data(count, 3, dtype),
            heads,
            seqLen,
            headDim,
            causal,
            dtype,
          }
        },
        attentionReference,
      ),
    ),
    elementwiseCase(
      `attention ${dtype} grouped-query heads=4 kvHeads=2 seqLen=3 kvLen=70 headDim=16 causal`,
      () => ({
        kernel: 'attention',
        q: data(4 * 3 * 16, 1, dtype, 2),
        k: data(2 * 70 * 16, 2, dtype, 2),
        v: data(2 * 70 * 16, 3, dtype),
        heads: 4,
        kvHeads: 2,
        seqLen: 3,
        kvLen: 70,
        headDim: 16,
        causal: true,
        dtype,
      }),
      attentionReference,
    ),
    elementwiseCase(
      `embedding ${dtype} vocab=50 dim=37`,
      () => ({
        kernel: 'embedding',
        table: data(50 * 37, 6, dtype),
        ids: Int32Array.from([0, 49, 3, 3, 17, 1, 48]),
        vocab: 50,
        dim: 37,
        dtype,
      }),
      embeddingReference,
    ),
  ]),

  {
    name: 'custom kernel runs researcher WGSL',
    async run(worker) {
      const x = seededRandomF32(1000, 11)
      const [y] = await worker.run(
        {
          kernel: 'custom',
          program: {
            wgsl: `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < arrayLength(&x)) { y[g.x] = 2.0 * x[g.x] + 1.0; }
}`,
            inputs: [{ name: 'x', dtype: 'float32' }],
            outputs: [{ name: 'y', dtype: 'float32' }],
          },
          inputs: [x],
          outputs: [{ length: x.length }],
          workgroups: [Math.ceil(x.length / 64), 1, 1],
        },
        { timeoutMs: CALL_TIMEOUT_MS },
      )
      if (!(y instanceof Float32Array)) return { ok: false, detail: 'output is not a Float32Array' }
      // 2x + 1 rounds once in f32 (2x is exact): a tolerance of one rounding, u·|y|.
      const expected = Float64Array.from(x, (v) => 2 * v + 1)
      const tolerance = expected.map((v) => F32_UNIT_ROUNDOFF * Math.abs(v))
      const result = compareElementwise(y, { expected, tolerance })
      return { ok: result.ok, detail: describe(result) }
    },
  },
  {
    name: 'custom kernel compile error arrives as KernelCompileError with line numbers',
    async run(worker) {
      const err = await worker
        .run(
          {
            kernel: 'custom',
            program: { wgsl: BROKEN_WGSL, inputs: [], outputs: [{ name: 'y', dtype: 'float32' }] },
            inputs: [],
            outputs: [{ length: 1 }],
            workgroups: [1, 1, 1],
          },
          { timeoutMs: CALL_TIMEOUT_MS },
        )
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      if (!(err instanceof Error)) return { ok: false, detail: 'the broken WGSL did not fail' }
      const messages = (err as { messages?: unknown }).messages
      const first = Array.isArray(messages)
        ? (messages as Array<{ type: string; line: number; column: number; message: string }>).find(
            (m) => m.type === 'error',
          )
        : undefined
      const ok =
        err.name === 'KernelCompileError' &&
        (err as { code?: string }).code === 'KERNEL_COMPILE' &&
        first?.line === 4 &&
        /undeclared_value/.test(first.message) &&
        /4:\d+: error: .*undeclared_value/.test(err.message)
      return { ok, detail: `${err.name}: ${err.message} ${JSON.stringify(messages)}` }
    },
  },

  {
    name: 'control: one wrong element of a real 512x512 product fails the comparison',
    async run(worker) {
      const [m, k, n] = [512, 512, 512]
      const a = seededRandomF32(m * k, 21)
      const b = seededRandomF32(k * n, 22)
      const c = (await worker.run(
        { kernel: 'matmul', a, b, m, k, n },
        { timeoutMs: CALL_TIMEOUT_MS },
      )) as Float32Array
      const { c: expected, bound } = matmulReferenceWithBound(a, b, m, k, n)
      const honest = compareMatmul(c, expected, { k, bound })
      // The per-element tolerance at k = 512 is about 4e-3 (γₖ·|A|·|B|): 0.05 is a small
      // error a sloppy kernel could make, ten times over the bound.
      c[12_345] = (c[12_345] as number) + 0.05
      const wrong = compareMatmul(c, expected, { k, bound })
      c[12_345] = (c[12_345] as number) + 10
      const freivalds = freivaldsCheck({ a, b, c, m, k, n })
      return {
        ok: honest.ok && !wrong.ok && wrong.worstIndex === 12_345 && !freivalds.ok,
        detail: `honest ${describe(honest)}; corrupted ${describe(wrong)}; freivalds ${JSON.stringify(freivalds)}`,
      }
    },
  },
  {
    name: 'control: a custom kernel with a wrong relu fails the comparison',
    async run(worker) {
      const x = seededRandomF32(4097, 31)
      // Leaky by mistake: negative inputs give 0.01·x instead of 0.
      const [y] = await worker.run(
        {
          kernel: 'custom',
          program: {
            wgsl: `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x < arrayLength(&x)) { y[g.x] = select(0.01 * x[g.x], x[g.x], x[g.x] > 0.0); }
}`,
            inputs: [{ name: 'x', dtype: 'float32' }],
            outputs: [{ name: 'y', dtype: 'float32' }],
          },
          inputs: [x],
          outputs: [{ length: x.length }],
          workgroups: [Math.ceil(x.length / 64), 1, 1],
        },
        { timeoutMs: CALL_TIMEOUT_MS },
      )
      const result = compareElementwise(
        y as Float32Array,
        activationReference({ kernel: 'activation', op: 'relu', x }),
      )
      return { ok: !result.ok && result.mismatches > 1000, detail: describe(result) }
    },
  },
]

/** The case names, for the Playwright side to make one test each. */
export const KERNEL_CASE_NAMES: string[] = KERNEL_CASES.map((c) => c.name)
