/**
 * The matmul benchmark page. Playwright calls `window.kernelBench` from
 * `bench/areas/kernels.ts`; every library runs here, on this page's thread, against the
 * same WebGPU adapter, and is timed the same way: from typed arrays in JS memory to the
 * product back in JS memory (upload, compute, read-back), after a verified warm-up. The
 * driver interleaves the libraries' repetitions, so background load hits all alike.
 * onnxruntime-web's WebGPU backend stands in for TensorFlow.js where TF.js cannot run a
 * case (f16: TF.js has no float16 tensors), on a one-node MatMul model built in code.
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
import * as ort from 'onnxruntime-web/webgpu'
import { onnxMatmulModel } from './onnx-matmul-model.ts'

/**
 * What runs a case: our kernels (`auto` variant choice, as users get), our naive kernel,
 * TF.js, or onnxruntime-web (both on their WebGPU backends).
 */
export type BenchLibrary = 'tabswarm' | 'naive-wgsl' | 'tfjs-webgpu' | 'onnxruntime-web-webgpu'

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
  onnxruntime: { version: string }
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

/** The ORT session of the current shape and dtype; the one before is released. */
let onnxSession: { key: string; session: Promise<ort.InferenceSession> } | undefined

function onnxSessionFor(m: number, k: number, n: number, dtype: BenchCase['dtype']) {
  const key = `${m}x${k}x${n}:${dtype}`
  if (onnxSession?.key !== key) {
    void onnxSession?.session.then((old) => old.release()).catch(() => {})
    const session = ort.InferenceSession.create(onnxMatmulModel(m, k, n, dtype), {
      executionProviders: ['webgpu'],
    })
    onnxSession = { key, session }
  }
  return onnxSession.session
}

async function runOnnx(benchCase: BenchCase, data: Operands): Promise<Float32Array> {
  const { m, k, n, dtype } = benchCase
  const session = await onnxSessionFor(m, k, n, dtype)
  const feeds =
    dtype === 'float16'
      ? {
          a: new ort.Tensor('float16', data.aBits, [m, k]),
          b: new ort.Tensor('float16', data.bBits, [k, n]),
        }
      : {
          a: new ort.Tensor('float32', data.a, [m, k]),
          b: new ort.Tensor('float32', data.b, [k, n]),
        }
  const { c } = await session.run(feeds)
  if (!c) throw new Error('onnxruntime-web returned no output c.')
  try {
    // Outputs come back in CPU memory (the default location), as the other libraries' do.
    return dtype === 'float16' ? fromFloat16(c.data as Uint16Array) : (c.data as Float32Array)
  } finally {
    c.dispose()
  }
}

async function runOnce(benchCase: BenchCase, data: Operands): Promise<Float32Array> {
  const { library, m, k, n, dtype } = benchCase
  if (library === 'onnxruntime-web-webgpu') return runOnnx(benchCase, data)
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
    const c = await host.run({
      kernel: 'matmul',
      a: data.aBits,
      b: data.bBits,
      m,
      k,
      n,
      dtype,
      variant,
      // f32 arithmetic, as the f16 rows' notes say and Freivalds' f16 bound assumes; the
      // f16-arithmetic path is measured by `bench:matmul-paths` where shader-f16 exists.
      compute: 'float32',
    })
    return fromFloat16(c)
  }
  return host.run({ kernel: 'matmul', a: data.a, b: data.b, m, k, n, variant })
}

window.kernelBench = {
  async setup() {
    if (!navigator.gpu) throw new Error('navigator.gpu is missing: WebGPU is off in this browser.')
    host ??= await createKernelHost({ gpu: navigator.gpu, timeoutMs: 120_000 })
    if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js: webgpu backend failed.')
    await tf.ready()
    // Run every matmul on the GPU: TF.js otherwise forwards small CPU-resident work to JS.
    tf.env().set('WEBGPU_CPU_FORWARD', false)
    // One thread: the page is not cross-origin isolated, so there is no SharedArrayBuffer.
    ort.env.wasm.numThreads = 1
    ort.env.logLevel = 'error'
    return {
      adapter: host.info,
      tfjs: { version: tf.version_core, backend: tf.getBackend() },
      onnxruntime: { version: ort.env.versions.web ?? ort.env.versions.common },
    }
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
