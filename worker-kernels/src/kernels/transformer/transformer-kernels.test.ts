import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { compareElementwise, type ReferenceResult } from '../../compare/compare-elementwise.ts'
import {
  ABSOLUTE_FLOOR,
  F32_UNIT_ROUNDOFF,
  OUTPUT_ROUNDING,
} from '../../compare/tolerance-model.ts'
import { KernelLimitError, KernelShapeError } from '../../errors.ts'
import { createKernelHost, type KernelHost } from '../../host/kernel-host.ts'
import { createNodeGpu } from '../../node/create-node-gpu.ts'
import { attentionReference } from '../../reference/attention-reference.ts'
import {
  activationReference,
  biasAddReference,
  residualAddReference,
  swigluReference,
} from '../../reference/elementwise-reference.ts'
import { embeddingReference } from '../../reference/embedding-reference.ts'
import { fromFloat16, toFloat16 } from '../../reference/float16.ts'
import { layerNormReference, rmsNormReference } from '../../reference/norm-reference.ts'
import { ropeReference } from '../../reference/rope-reference.ts'
import { seededRandomF32 } from '../../reference/seeded-random.ts'
import { reduceReference, softmaxReference } from '../../reference/softmax-reference.ts'
import type { FloatData, FloatDtype } from '../common/float-dtype.ts'
import type { KernelRequest } from '../kernel-request.ts'

// Every transformer kernel on dawn.node against its f64 CPU reference, in f32 and in
// f16 storage, on sizes that are 1, primes and non-multiples of the 64-wide workgroups.
let host: KernelHost

beforeAll(async () => {
  host = await createKernelHost({ gpu: createNodeGpu() })
})

afterAll(() => host?.destroy())

const DTYPES: FloatDtype[] = ['float32', 'float16']

/** Random data in [-scale, scale), as f32 or f16 bits. */
function data(length: number, seed: number, dtype: FloatDtype, scale = 1): FloatData {
  const values = seededRandomF32(length, seed).map((v) => v * scale)
  return dtype === 'float32' ? values : toFloat16(values)
}

async function expectMatches(request: KernelRequest, reference: (r: never) => ReferenceResult) {
  const dtype = ('dtype' in request ? request.dtype : undefined) ?? 'float32'
  const actual = (await host.run(request)) as FloatData
  const expected = reference(request as never)
  const result = compareElementwise(actual, expected, { dtype })
  expect(result, `${request.kernel} ${dtype}`).toMatchObject({ ok: true, mismatches: 0 })
  return { actual, expected }
}

describe.each(DTYPES)('elementwise kernels (%s)', (dtype) => {
  it.each(['relu', 'gelu', 'silu'] as const)('%s over 1, prime and large counts', async (op) => {
    for (const [count, scale] of [
      [1, 1],
      [257, 6],
      [40_001, 12],
    ] as const) {
      const x = data(count, count, dtype, scale)
      await expectMatches({ kernel: 'activation', op, x, dtype }, activationReference)
    }
  })

  it('bias-add broadcasts the bias over rows', async () => {
    for (const [rows, cols] of [
      [1, 1],
      [13, 7],
      [5, 301],
    ] as const) {
      const request = {
        kernel: 'bias-add' as const,
        x: data(rows * cols, 1, dtype, 3),
        bias: data(cols, 2, dtype, 3),
        rows,
        cols,
        dtype,
      }
      await expectMatches(request, biasAddReference)
    }
  })

  it('swiglu gates up with silu(gate) over 1, prime and large counts', async () => {
    for (const [count, scale] of [
      [1, 1],
      [257, 6],
      [40_001, 12],
    ] as const) {
      const request = {
        kernel: 'swiglu' as const,
        gate: data(count, count, dtype, scale),
        up: data(count, count + 1, dtype, 3),
        dtype,
      }
      await expectMatches(request, swigluReference)
    }
  })

  it('rope turns each head by its row position (rotate-half), far positions included', async () => {
    for (const [heads, headDim, positions, theta] of [
      [1, 2, [0], 10_000],
      [4, 16, [0, 1, 2, 7], 10_000],
      [3, 64, [5, 1000, 40_000], 500_000],
    ] as const) {
      const rows = positions.length
      const request = {
        kernel: 'rope' as const,
        x: data(rows * heads * headDim, headDim + rows, dtype, 2),
        positions: Int32Array.from(positions),
        heads,
        headDim,
        theta,
        dtype,
      }
      const { actual } = await expectMatches(request, ropeReference)
      // Position 0 is the identity.
      if (positions[0] === 0) {
        const x = request.x
        expect(Array.from(actual.subarray(0, heads * headDim))).toEqual(
          Array.from(x.subarray(0, heads * headDim)),
        )
      }
    }
  })

  it('residual-add adds elementwise', async () => {
    const request = {
      kernel: 'residual-add' as const,
      x: data(1031, 3, dtype, 100),
      residual: data(1031, 4, dtype, 0.01),
      dtype,
    }
    await expectMatches(request, residualAddReference)
  })
})

describe.each(DTYPES)('normalisation, softmax and reductions (%s)', (dtype) => {
  const shapes = [
    [1, 1],
    [3, 7],
    [17, 64],
    [5, 1000],
    [2, 4099],
  ] as const

  it.each(shapes)('layer-norm %i×%i', async (rows, cols) => {
    const request = {
      kernel: 'layer-norm' as const,
      // An offset mean stresses the two-pass variance.
      x: data(rows * cols, rows + cols, dtype, 4).map((v) => (dtype === 'float32' ? v + 10 : v)),
      gamma: data(cols, 2, dtype, 2),
      beta: data(cols, 3, dtype),
      rows,
      cols,
      dtype,
    } as KernelRequest
    await expectMatches(request, layerNormReference)
  })

  it.each(shapes)('rms-norm %i×%i', async (rows, cols) => {
    const request = {
      kernel: 'rms-norm' as const,
      x: data(rows * cols, rows * cols, dtype, 3),
      gamma: data(cols, 5, dtype, 2),
      rows,
      cols,
      dtype,
    }
    await expectMatches(request, rmsNormReference)
  })

  it.each(shapes)('softmax %i×%i, with logits up to ±60', async (rows, cols) => {
    const request = {
      kernel: 'softmax' as const,
      x: data(rows * cols, cols, dtype, 60),
      rows,
      cols,
      dtype,
    }
    const { actual } = await expectMatches(request, softmaxReference)
    expect(actual).toHaveLength(rows * cols)
  })

  it.each(shapes)('reduce sum and max %i×%i', async (rows, cols) => {
    for (const op of ['sum', 'max'] as const) {
      const request = {
        kernel: 'reduce' as const,
        op,
        x: data(rows * cols, 9, dtype),
        rows,
        cols,
        dtype,
      }
      const { actual } = await expectMatches(request, reduceReference)
      expect(actual).toHaveLength(rows)
    }
  })
})

describe.each(DTYPES)('attention and embedding (%s)', (dtype) => {
  it.each([
    [1, 1, 1, true],
    [2, 7, 5, true],
    [3, 67, 16, true],
    [1, 130, 64, false],
    [2, 33, 97, true],
    // Head dimensions above 97: several output slots per invocation, up to the maximum.
    [1, 9, 130, true],
    [2, 5, 256, false],
    [1, 70, 256, true],
  ] as const)(
    'attention heads=%i seqLen=%i headDim=%i causal=%s',
    async (heads, seqLen, headDim, causal) => {
      const count = heads * seqLen * headDim
      const request = {
        kernel: 'attention' as const,
        q: data(count, 1, dtype, 2),
        k: data(count, 2, dtype, 2),
        v: data(count, 3, dtype),
        heads,
        seqLen,
        headDim,
        causal,
        dtype,
      }
      await expectMatches(request, attentionReference)
    },
  )

  it.each([
    // [heads, kvHeads, seqLen, kvLen, headDim, causal]
    [2, 2, 1, 37, 64, true], // decoding one token against a 37-entry KV cache
    [2, 2, 3, 70, 16, true], // a few new tokens, the cache past one 64-key block
    [4, 2, 5, 70, 16, true], // grouped-query attention with a cache
    [4, 1, 3, 3, 8, false], // multi-query attention
    [6, 3, 7, 7, 130, true],
    [3, 3, 9, 4, 32, false], // fewer keys than queries is fine without a causal mask
  ] as const)(
    'attention heads=%i kvHeads=%i seqLen=%i kvLen=%i headDim=%i causal=%s',
    async (heads, kvHeads, seqLen, kvLen, headDim, causal) => {
      const request = {
        kernel: 'attention' as const,
        q: data(heads * seqLen * headDim, 11, dtype, 2),
        k: data(kvHeads * kvLen * headDim, 12, dtype, 2),
        v: data(kvHeads * kvLen * headDim, 13, dtype),
        heads,
        kvHeads,
        seqLen,
        kvLen,
        headDim,
        causal,
        dtype,
      }
      await expectMatches(request, attentionReference)
    },
  )

  it('causal attention: the first query sees only the first key, so it returns v[0]', async () => {
    const [heads, seqLen, headDim] = [1, 5, 3]
    const v = data(seqLen * headDim, 4, dtype)
    const q = data(seqLen * headDim, 5, dtype)
    const out = (await host.run({
      kernel: 'attention',
      q,
      k: q,
      v,
      heads,
      seqLen,
      headDim,
      dtype,
    })) as FloatData
    // One key visible: its weight is exp(0)/exp(0) = 1, so the output is v[0] up to the
    // roundings of the weighting and of storing the result, never exactly by assumption.
    const first = Float64Array.from(
      dtype === 'float32'
        ? (v as Float32Array).subarray(0, headDim)
        : fromFloat16(v.subarray(0, headDim) as Uint16Array),
    )
    const tolerance = first.map(
      (x) => (4 * F32_UNIT_ROUNDOFF + OUTPUT_ROUNDING[dtype]) * Math.abs(x) + ABSOLUTE_FLOOR[dtype],
    )
    const result = compareElementwise(
      out.subarray(0, headDim),
      { expected: first, tolerance },
      { dtype },
    )
    expect(result).toMatchObject({ ok: true, mismatches: 0 })
  })

  it.each([Int32Array, Uint32Array])('embedding gathers rows by %s ids', async (Ids) => {
    const [vocab, dim] = [50, 37]
    const ids = Ids.from([0, 49, 3, 3, 17, 1, 48])
    const request = {
      kernel: 'embedding' as const,
      table: data(vocab * dim, 6, dtype),
      ids,
      vocab,
      dim,
      dtype,
    }
    await expectMatches(request, embeddingReference)
  })
})

describe('transformer kernel validation', () => {
  it('names the bad field before running anything', async () => {
    const x = new Float32Array(6)
    await expect(host.run({ kernel: 'softmax', x, rows: 4, cols: 2 })).rejects.toThrow(
      /x\.length \(6\) must equal rows\*cols \(4\*2\)/,
    )
    await expect(
      host.run({ kernel: 'layer-norm', x, gamma: x, beta: x, rows: 2, cols: 3 }),
    ).rejects.toThrow(/gamma\.length \(6\) must equal cols \(3\)/)
    await expect(
      host.run({ kernel: 'embedding', table: x, ids: Int32Array.of(0, 3), vocab: 3, dim: 2 }),
    ).rejects.toThrow(/ids\[1\] is 3, outside \[0, vocab\)/)
    await expect(host.run({ kernel: 'activation', op: 'tanh' as 'relu', x })).rejects.toThrow(
      KernelShapeError,
    )
    await expect(
      host.run({
        kernel: 'rope',
        x,
        positions: Int32Array.of(0),
        heads: 1,
        headDim: 3,
        theta: 1e4,
      }),
    ).rejects.toThrow(/headDim must be even/)
    await expect(
      host.run({
        kernel: 'rope',
        x,
        positions: Int32Array.of(0, 1),
        heads: 1,
        headDim: 4,
        theta: 1e4,
      }),
    ).rejects.toThrow(
      /x\.length \(6\) must equal positions\.length\*heads\*headDim \(2\*1\*4 = 8\)/,
    )
    await expect(host.run({ kernel: 'swiglu', gate: x, up: new Float32Array(3) })).rejects.toThrow(
      /up\.length \(3\) must equal gate\.length/,
    )
    await expect(host.run({ kernel: 'nope' } as unknown as KernelRequest)).rejects.toThrow(
      /kernel must be one of matmul, activation/,
    )
    const four = new Float32Array(4 * 2 * 8)
    await expect(
      host.run({
        kernel: 'attention',
        q: four,
        k: four,
        v: four,
        heads: 4,
        kvHeads: 3,
        seqLen: 2,
        headDim: 8,
      }),
    ).rejects.toThrow(/kvHeads \(3\) must divide heads \(4\)/)
    await expect(
      host.run({
        kernel: 'attention',
        q: four,
        k: four,
        v: four,
        heads: 4,
        seqLen: 2,
        kvLen: 1,
        headDim: 8,
      }),
    ).rejects.toThrow(/causal attention needs kvLen \(1\) >= seqLen \(2\)/)
    await expect(
      host.run({
        kernel: 'attention',
        q: four,
        k: four,
        v: four,
        heads: 4,
        kvHeads: 2,
        seqLen: 2,
        headDim: 8,
      }),
    ).rejects.toThrow(/k\.length \(64\) must equal kvHeads\*kvLen\*headDim \(2\*2\*8 = 32\)/)
    const big = new Float32Array(257)
    await expect(
      host.run({ kernel: 'attention', q: big, k: big, v: big, heads: 1, seqLen: 1, headDim: 257 }),
    ).rejects.toThrow(KernelLimitError)
  })

  it('the comparator catches one wrong element', async () => {
    const x = data(300, 8, 'float32', 5)
    const request = { kernel: 'softmax' as const, x, rows: 3, cols: 100 }
    const actual = (await host.run(request)) as Float32Array
    const reference = softmaxReference(request)
    actual[150] = (actual[150] as number) * (1 + 1e-4)
    expect(compareElementwise(actual, reference)).toMatchObject({
      ok: false,
      mismatches: 1,
      worstIndex: 150,
    })
  })
})

describe('every kernel split into many small dispatches', () => {
  it('gives the same results when grids are capped at 2 workgroups per axis', async () => {
    const capped = await createKernelHost({
      gpu: createNodeGpu(),
      maxWorkgroupsPerDimension: 2,
      // The largest single workgroup below (an activation's, 256 threads × 32) fits; a
      // smaller budget is refused with KernelLimitError rather than silently exceeded.
      maxWorkPerSubmission: 8192,
    })
    try {
      const cases: [KernelRequest, (r: never) => ReferenceResult][] = [
        [
          { kernel: 'activation', op: 'silu', x: data(1500, 1, 'float16', 4), dtype: 'float16' },
          activationReference,
        ],
        [
          {
            kernel: 'bias-add',
            x: data(1200, 2, 'float32'),
            bias: data(40, 3, 'float32'),
            rows: 30,
            cols: 40,
          },
          biasAddReference,
        ],
        [
          { kernel: 'softmax', x: data(7 * 30, 4, 'float32', 8), rows: 7, cols: 30 },
          softmaxReference,
        ],
        [
          {
            kernel: 'reduce',
            op: 'max',
            x: data(5 * 9, 5, 'float16'),
            rows: 5,
            cols: 9,
            dtype: 'float16',
          },
          reduceReference,
        ],
        [
          {
            kernel: 'attention',
            q: data(3 * 5 * 4, 6, 'float32'),
            k: data(60, 7, 'float32'),
            v: data(60, 8, 'float32'),
            heads: 3,
            seqLen: 5,
            headDim: 4,
          },
          attentionReference,
        ],
        [
          {
            kernel: 'embedding',
            table: data(10 * 130, 9, 'float32'),
            ids: Int32Array.of(9, 0, 4, 4, 1),
            vocab: 10,
            dim: 130,
          },
          embeddingReference,
        ],
      ]
      for (const [request, reference] of cases) {
        const dtype = ('dtype' in request ? request.dtype : undefined) ?? 'float32'
        const actual = (await capped.run(request)) as FloatData
        const result = compareElementwise(actual, reference(request as never), { dtype })
        expect(result, request.kernel).toMatchObject({ ok: true })
      }
    } finally {
      capped.destroy()
    }
  })
})
