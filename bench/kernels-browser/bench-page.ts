/**
 * The matmul benchmark page. Playwright calls `window.kernelBench` from
 * `bench/areas/kernels.ts`; every library runs here, on this page's thread, against the
 * same WebGPU adapter, and is timed the same way: from typed arrays in JS memory to the
 * product back in JS memory (upload, compute, read-back), after a verified warm-up. The
 * driver interleaves the libraries' repetitions, so background load hits all alike.
 */
import {
  createKernelHost,
  type FreivaldsResult,
  freivaldsCheck,
  fromFloat16,
  type HostInfo,
  type KernelHost,
  seededRandomF32,
  toFloat16,
} from '@tabswarm/worker-kernels'
import '@tensorflow/tfjs-backend-webgpu'
import * as tf from '@tensorflow/tfjs-core'

/** What runs a case: our kernels (`auto` variant choice, as users get), our naive kernel, or TF.js. */
export type BenchLibrary = 'tabswarm' | 'naive-wgsl' | 'tfjs-webgpu'

/** One configuration to run. */
export type BenchCase = {
  library: BenchLibrary
  m: number
  k: number
  n: number
  dtype: 'float32' | 'float16'
}

/** The adapter both libraries run on. */
export type BenchSetup = {
  adapter: HostInfo
  tfjs: { version: string; backend: string }
}

/** The page's API, as `window.kernelBench`. */
export interface KernelBenchPage {
  /** Create our kernel host and TF.js's WebGPU backend; describe the adapter. */
  setup(): Promise<BenchSetup>
  /**
   * Run a case once untimed (compiling pipelines, filling pools) and check its product
   * with Freivalds' check (2 rounds), so a fast wrong kernel cannot post a figure.
   */
  warmUp(benchCase: BenchCase): Promise<FreivaldsResult>
  /** Seconds one run of the case takes: inputs in JS memory to the product in JS memory. */
  time(benchCase: BenchCase): Promise<number>
}

declare global {
  interface Window {
    kernelBench: KernelBenchPage
  }
}

type Operands = { a: Float32Array; b: Float32Array; aBits: Uint16Array; bBits: Uint16Array }

let host: KernelHost | undefined
let operandsKey = ''
let operands: Operands | undefined

/** Inputs in [-1, 1), the same for every library at a given shape (f16: rounded once). */
function operandsFor(m: number, k: number, n: number): Operands {
  const key = `${m}x${k}x${n}`
  if (operands && operandsKey === key) return operands
  const aBits = toFloat16(seededRandomF32(m * k, m + k))
  const bBits = toFloat16(seededRandomF32(k * n, k + n))
  operands = { a: fromFloat16(aBits), b: fromFloat16(bBits), aBits, bBits }
  operandsKey = key
  return operands
}

async function runOnce(benchCase: BenchCase, data: Operands): Promise<Float32Array> {
  const { library, m, k, n, dtype } = benchCase
  if (library === 'tfjs-webgpu') {
    if (dtype !== 'float32') throw new Error('TensorFlow.js has no float16 tensors.')
    const ta = tf.tensor2d(data.a, [m, k])
    const tb = tf.tensor2d(data.b, [k, n])
    const tc = tf.matMul(ta, tb)
    try {
      return (await tc.data()) as Float32Array
    } finally {
      tf.dispose([ta, tb, tc])
    }
  }
  if (!host) throw new Error('setup() must run first.')
  const variant = library === 'naive-wgsl' ? 'naive' : 'auto'
  if (dtype === 'float16') {
    const c = await host.matmul({ a: data.aBits, b: data.bBits, m, k, n, dtype, variant })
    return fromFloat16(c)
  }
  return host.matmul({ a: data.a, b: data.b, m, k, n, variant })
}

window.kernelBench = {
  async setup() {
    if (!navigator.gpu) throw new Error('navigator.gpu is missing: WebGPU is off in this browser.')
    host ??= await createKernelHost({ gpu: navigator.gpu, timeoutMs: 120_000 })
    if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js: webgpu backend failed.')
    await tf.ready()
    // Run every matmul on the GPU: TF.js otherwise forwards small CPU-resident work to JS.
    tf.env().set('WEBGPU_CPU_FORWARD', false)
    return { adapter: host.info, tfjs: { version: tf.version_core, backend: tf.getBackend() } }
  },

  async warmUp(benchCase) {
    const { m, k, n, dtype } = benchCase
    const data = operandsFor(m, k, n)
    const product = await runOnce(benchCase, data)
    return freivaldsCheck(
      { a: data.a, b: data.b, c: product, m, k, n },
      { dtype: dtype === 'float16' ? 'f16' : 'f32' },
    )
  },

  async time(benchCase) {
    const data = operandsFor(benchCase.m, benchCase.k, benchCase.n)
    const start = performance.now()
    await runOnce(benchCase, data)
    return (performance.now() - start) / 1000
  },
}
