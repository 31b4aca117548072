import type { TensorDtype } from '@tabswarm/protocol'
import { float16Value } from '@tabswarm/worker-kernels'
import type { ResultTensor } from '../coordinator-api.ts'
import { alignedBytes } from '../jobs/tensor-bytes.ts'

/**
 * Relative tolerance of two float results of the same program on different GPUs. WGSL lets
 * a compiler reassociate and fuse, so replicas of an honest float kernel differ in their
 * last bits; a saboteur's noise or a wrong answer differs far more than this.
 */
const RELATIVE: Record<TensorDtype, number> = { float32: 1e-4, float16: 1e-2, int32: 0, uint32: 0 }
const ABSOLUTE: Record<TensorDtype, number> = { float32: 1e-6, float16: 1e-3, int32: 0, uint32: 0 }

function view(tensor: ResultTensor): ArrayLike<number> {
  const { bytes } = tensor
  const copy = alignedBytes(bytes, 4)
  switch (tensor.dtype) {
    case 'float32':
      return new Float32Array(copy.buffer, copy.byteOffset, copy.byteLength >> 2)
    case 'int32':
      return new Int32Array(copy.buffer, copy.byteOffset, copy.byteLength >> 2)
    case 'uint32':
      return new Uint32Array(copy.buffer, copy.byteOffset, copy.byteLength >> 2)
    case 'float16':
      return new Uint16Array(copy.buffer, copy.byteOffset, copy.byteLength >> 1)
  }
}

/**
 * Whether two results of one task agree: same shapes and dtypes, integers equal, floats
 * within a tolerance of each other element by element (NaN matches only NaN).
 */
export function replicasAgree(x: readonly ResultTensor[], y: readonly ResultTensor[]): boolean {
  if (x.length !== y.length) return false
  for (let t = 0; t < x.length; t++) {
    const a = x[t]!
    const b = y[t]!
    if (a.dtype !== b.dtype || a.bytes.byteLength !== b.bytes.byteLength) return false
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false
    const rel = RELATIVE[a.dtype]
    const abs = ABSOLUTE[a.dtype]
    const va = view(a)
    const vb = view(b)
    const decode = a.dtype === 'float16' ? float16Value : (v: number) => v
    for (let i = 0; i < va.length; i++) {
      const p = decode(va[i]!)
      const q = decode(vb[i]!)
      if (p === q || (Number.isNaN(p) && Number.isNaN(q))) continue
      if (!(Math.abs(p - q) <= rel * Math.max(Math.abs(p), Math.abs(q)) + abs)) return false
    }
  }
  return true
}
