import { execFile } from 'node:child_process'
import { compareMatmul, matmulReferenceWithBound } from '@tabswarm/worker-kernels'
import { pythonWithNumpy } from './python-with-numpy.ts'

/**
 * Describes how `c` differs from a·b beyond f32 tolerance, or returns undefined when it is
 * the product. The e2e assertions rest on this, so it has its own test that feeds it wrong
 * products.
 */
export function productMismatch(
  c: Float32Array,
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
): string | undefined {
  if (c.length !== m * n) return `product has ${c.length} elements, expected ${m * n}`
  const { c: expected, bound } = matmulReferenceWithBound(a, b, m, k, n)
  const result = compareMatmul(c, expected, { k, bound })
  return result.ok
    ? undefined
    : `${result.mismatches} elements differ (worst at ${result.worstIndex}, |err| ${result.maxAbsError})`
}

/** Asks numpy itself to load the three files and compare C with A @ B. */
export function numpyAgrees(aPath: string, bPath: string, cPath: string): Promise<string> {
  const script = [
    'import sys, numpy as np',
    'a, b, c = (np.load(p) for p in sys.argv[1:4])',
    'assert c.dtype == np.float32 and c.flags.c_contiguous, (c.dtype, c.flags)',
    'ref = a.astype(np.float64) @ b.astype(np.float64)',
    'assert c.shape == ref.shape, (c.shape, ref.shape)',
    'err = np.abs(c - ref).max()',
    'assert np.allclose(c, ref, rtol=1e-4, atol=1e-4), err',
    'print(f"ok {c.shape} max_abs_err={err:.3g}")',
  ].join('\n')
  return new Promise((resolve, reject) => {
    execFile(
      pythonWithNumpy(),
      ['-c', script, aPath, bPath, cPath],
      { timeout: 60_000 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`numpy disagrees: ${stderr || err.message}`))
          : resolve(stdout.trim()),
    )
  })
}
