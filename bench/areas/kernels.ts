import type { FreivaldsResult } from '@tabswarm/worker-kernels'
import type { Page } from 'playwright'
import { launchChromium } from '../../tests/support/chromium.ts'
import { serveBuiltPage } from '../../tests/support/vite-page-server.ts'
import type { BenchArea, BenchRow } from '../bench-types.ts'
import type { BenchCase, BenchLibrary, BenchSetup } from '../kernels-browser/bench-page.ts'

type Shape = readonly [m: number, k: number, n: number]

/** Square shapes every adapter runs, then skinny ones (a tall-by-wide product and a GEMV). */
const SHAPES: Shape[] = [
  [256, 256, 256],
  [512, 512, 512],
  [1024, 1024, 1024],
  [4096, 64, 4096],
  [1, 4096, 4096],
]
/** Only on a real GPU: SwiftShader would take minutes per repetition. */
const GPU_ONLY_SHAPES: Shape[] = [
  [2048, 2048, 2048],
  [4096, 4096, 4096],
]
/** `TABSWARM_BENCH_QUICK=1`: one small square, to check the benchmark itself runs. */
const QUICK_SHAPES: Shape[] = [[256, 256, 256]]

/**
 * What a row of `dtype` compares with: the first of these that runs the case. f32:
 * TensorFlow.js, or onnxruntime-web where TF.js fails on this adapter. f16: TF.js has no
 * float16 tensors, and onnxruntime-web's f16 MatMul needs shader-f16, so on an adapter
 * without it there is nothing to try (and nothing to pay a session and a failure for).
 */
function peerLibraries(dtype: BenchCase['dtype'], shaderF16: boolean): readonly BenchLibrary[] {
  if (dtype === 'float32') return ['tfjs-webgpu', 'onnxruntime-web-webgpu']
  return shaderF16 ? ['onnxruntime-web-webgpu'] : []
}

/** Longest one call into the page (a warm-up or one repetition) may take. */
const CALL_TIMEOUT_MS = 180_000

/** Fewer repetitions where one takes seconds on SwiftShader (naive: ~10 s at 1024³). */
function repetitionsFor([m, k, n]: Shape, emulated: boolean): number {
  const flop = 2 * m * k * n
  if (!emulated) return 15
  return flop >= 1e9 ? 5 : 7
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  return sorted[Math.floor(sorted.length / 2)] as number
}

function isEmulated(adapter: BenchSetup['adapter']): boolean {
  const text = `${adapter.architecture} ${adapter.description} ${adapter.vendor}`
  return /swiftshader|llvmpipe|lavapipe|\bcpu\b|software/i.test(text)
}

async function evaluateWithin<T>(page: Page, what: string, run: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took longer than ${CALL_TIMEOUT_MS / 1000} s.`)),
      CALL_TIMEOUT_MS,
    )
  })
  try {
    return await Promise.race([run(), deadline])
  } catch (err) {
    throw page.isClosed() ? new Error(`The page closed during ${what}.`, { cause: err }) : err
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Matmul GFLOP/s of our kernels against TensorFlow.js's WebGPU backend (or, where TF.js
 * cannot run a case, onnxruntime-web's) and our naive kernel, all in one headless
 * Chromium page on the same adapter (SwiftShader here).
 */
export const kernelsArea: BenchArea = {
  name: 'kernels',
  title:
    'Matmul in headless Chromium: Tabswarm vs TensorFlow.js WebGPU (onnxruntime-web WebGPU where TF.js cannot run) vs naive WGSL',
  async run(log) {
    const served = await serveBuiltPage('bench/kernels-browser/vite.config.ts')
    const browser = await launchChromium()
    const rows: BenchRow[] = []
    const notes: string[] = []
    try {
      const page = await browser.newPage()
      const errors: string[] = []
      page.on('pageerror', (err) => errors.push(err.message))
      await page.goto(`${served.url}index.html`)
      await page.waitForFunction(() => 'kernelBench' in window, undefined, { timeout: 30_000 })
      const setup = await evaluateWithin(page, 'setup', () =>
        page.evaluate(() => window.kernelBench.setup()),
      )
      const { adapter } = setup
      const adapterName =
        [adapter.description, adapter.vendor, adapter.architecture].filter(Boolean).join(' / ') ||
        'unknown'
      const emulated = isEmulated(adapter)
      const f16 = adapter.deviceFeatures.includes('shader-f16')
      log(`adapter: ${adapterName}${emulated ? ' (CPU emulation)' : ''}; shader-f16: ${f16}`)
      log(`TensorFlow.js ${setup.tfjs.version}, backend ${setup.tfjs.backend}`)
      log(`onnxruntime-web ${setup.onnxruntime.version}, WebGPU execution provider`)

      const quick = process.env.TABSWARM_BENCH_QUICK === '1'
      const shapes = quick ? QUICK_SHAPES : emulated ? SHAPES : [...SHAPES, ...GPU_ONLY_SHAPES]
      const dtypes = ['float32', 'float16'] as const

      /**
       * Warm up each library, then time them in turns: GFLOP/s of each library that ran,
       * and which library the row compares with (TF.js, else onnxruntime-web, else none).
       */
      const measure = async (shape: Shape, dtype: BenchCase['dtype']) => {
        const [m, k, n] = shape
        const running: BenchCase[] = []
        /** Warm `library` up; a case that cannot run is noted, with its reason, and skipped. */
        const warmUp = async (library: BenchLibrary): Promise<boolean> => {
          const benchCase: BenchCase = { library, m, k, n, dtype }
          const label = `${library} ${dtype} ${m}x${k}x${n}`
          let check: FreivaldsResult
          try {
            check = await evaluateWithin(page, `${label} warm-up`, () =>
              page.evaluate((c) => window.kernelBench.warmUp(c), benchCase),
            )
          } catch (err) {
            const reason = (err instanceof Error ? err.message : String(err))
              .split('\n')[0]
              ?.slice(0, 400)
            log(`${label}: could not run: ${reason}`)
            notes.push(`${label} could not run: ${reason}`)
            return false
          }
          // A wrong product must not post a figure, however fast.
          if (!check.ok)
            throw new Error(`${label} returned a wrong product: ${JSON.stringify(check)}`)
          running.push(benchCase)
          return true
        }
        if (!(await warmUp('tabswarm'))) return { gflops: new Map<BenchLibrary, number>() }
        let peer: BenchLibrary | undefined
        for (const library of peerLibraries(dtype, f16)) {
          if (await warmUp(library)) {
            peer = library
            break
          }
        }
        await warmUp('naive-wgsl')
        const seconds = new Map<BenchLibrary, number[]>(running.map((c) => [c.library, []]))
        for (let rep = 0; rep < repetitionsFor(shape, emulated); rep++) {
          for (const benchCase of running) {
            const taken = await evaluateWithin(page, `${benchCase.library} ${m}x${k}x${n}`, () =>
              page.evaluate((c) => window.kernelBench.time(c), benchCase),
            )
            seconds.get(benchCase.library)?.push(taken)
          }
        }
        const gflops = new Map<BenchLibrary, number>()
        for (const [library, samples] of seconds) {
          gflops.set(library, (2 * m * k * n) / median(samples) / 1e9)
          log(
            `${library} ${dtype} ${m}x${k}x${n}: ${(gflops.get(library) as number).toFixed(3)} GFLOP/s (median of ${samples.map((t) => t.toFixed(3)).join(', ')} s)`,
          )
        }
        return { gflops, ...(peer ? { peer } : {}) }
      }

      const peersUsed = new Set<BenchLibrary>()
      for (const dtype of dtypes) {
        for (const shape of shapes) {
          const [m, k, n] = shape
          const { gflops, peer } = await measure(shape, dtype)
          const ours = gflops.get('tabswarm')
          if (ours === undefined) continue
          const name = `matmul ${dtype === 'float32' ? 'f32' : 'f16'} ${m}x${k}x${n}`
          const row = { case: name, metric: 'gflops', value: ours, unit: 'GFLOP/s' }
          if (peer) peersUsed.add(peer)
          for (const other of [peer, 'naive-wgsl' as const]) {
            const value = other && gflops.get(other)
            if (other && value !== undefined) rows.push({ ...row, vs: { name: other, value } })
          }
          if (!peer && peerLibraries(dtype, f16).length > 0) {
            notes.push(
              `${name}: neither TensorFlow.js nor onnxruntime-web could run it here (reasons above), so this shape is compared with our naive kernel only.`,
            )
          }
        }
      }
      if (errors.length > 0) notes.push(`Page errors: ${errors.join('; ')}`)

      notes.unshift(
        emulated
          ? `The adapter is ${adapterName}, a CPU emulation of a GPU: only the ratios (ours ÷ the library a row names in vs, measured side by side in this run) mean anything; the absolute GFLOP/s are not GPU speeds.`
          : `Adapter: ${adapterName}.`,
        `All run in one headless Chromium page on that adapter: Tabswarm's kernel host (variant \`auto\`: tiled, or GEMV when m or n is 1), TensorFlow.js ${setup.tfjs.version} (\`@tensorflow/tfjs-backend-webgpu\`, CPU forwarding off), onnxruntime-web ${setup.onnxruntime.version} (WebGPU execution provider, a one-node MatMul ONNX model built in code, one wasm thread) and our naive WGSL kernel.`,
        'Each row says in vs.name what it compares with. f32: tfjs-webgpu wherever TensorFlow.js can run the case, onnxruntime-web-webgpu where it cannot (the reason is noted per shape). f16: onnxruntime-web-webgpu on an adapter with shader-f16. naive-wgsl always.',
        'Each figure is 2·m·k·n ÷ the median wall time of the timed repetitions (7, or 5 at ≥ 1 GFLOP on an emulated adapter; 15 on a GPU) after one warm-up, each from typed arrays in JS memory to the product back in JS memory: upload, compute and read-back included for every library alike. The libraries take turns, one repetition each, so background load on the machine falls on all of them alike.',
        "Every warm-up product passes Freivalds' check before its timings count.",
        `f16 rows: f16 storage (inputs and product), f32 arithmetic; our kernels pack and unpack f16 with core WGSL built-ins, so they run ${f16 ? 'here' : 'even though this adapter lacks shader-f16'}. ${f16 ? "TensorFlow.js has no float16 tensors, so f16 rows compare with onnxruntime-web's f16 MatMul." : "Neither peer can run f16 here: TensorFlow.js has no float16 tensors, and onnxruntime-web's f16 MatMul needs shader-f16, which this adapter lacks; so f16 rows compare with our naive kernel only (neither was tried)."}`,
        'Operands are uniform in [-1, 1), rounded to f16 values (exact in f32) so f32 and f16 rows multiply the same numbers.',
        emulated
          ? 'Shapes of 2048³ and up run only on a real GPU (SwiftShader would take minutes per repetition).'
          : 'Shapes up to 4096³ included.',
      )
      if (quick) notes.push('TABSWARM_BENCH_QUICK=1: only the 256³ square was run.')
      return {
        rows,
        machine: {
          gpuAdapter: adapterName,
          runtime: `headless Chromium (${browser.version()}), WebGPU`,
          tfjs: setup.tfjs.version,
          onnxruntimeWeb: setup.onnxruntime.version,
          comparedWith: [...peersUsed],
        },
        notes,
      }
    } finally {
      await browser.close()
      await served.close()
    }
  },
}
