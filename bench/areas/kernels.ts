import type { Page } from 'playwright'
import { launchChromium } from '../../tests/support/chromium.ts'
import { serveBuiltPage } from '../../tests/support/vite-page-server.ts'
import type { BenchArea, BenchRow } from '../bench-types.ts'
import type { BenchCase, BenchSample, BenchSetup } from '../kernels-browser/bench-page.ts'

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
/** `TABSWARM_BENCH_QUICK=1`: the two small squares, for a quick look while tuning. */
const QUICK_SHAPES: Shape[] = [
  [256, 256, 256],
  [512, 512, 512],
]

/** Longest one case (warm-up and repetitions) may take before the run is abandoned. */
const CASE_TIMEOUT_MS = 300_000

/** Fewer repetitions where one takes seconds on SwiftShader (TF.js: ~8 s at 1024³). */
function repetitionsFor([m, k, n]: Shape, emulated: boolean): number {
  const flop = 2 * m * k * n
  if (!emulated) return 9
  return flop >= 1e9 ? 3 : 5
}

function isEmulated(adapter: BenchSetup['adapter']): boolean {
  const text = `${adapter.architecture} ${adapter.description} ${adapter.vendor}`
  return /swiftshader|llvmpipe|lavapipe|\bcpu\b|software/i.test(text)
}

async function evaluateWithin<T>(page: Page, what: string, run: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} took longer than ${CASE_TIMEOUT_MS / 1000} s.`)),
      CASE_TIMEOUT_MS,
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
 * Matmul GFLOP/s of our kernels against TensorFlow.js's WebGPU backend and our naive
 * kernel, all in one headless Chromium page on the same adapter (SwiftShader here).
 */
export const kernelsArea: BenchArea = {
  name: 'kernels',
  title: 'Matmul in headless Chromium: Tabswarm vs TensorFlow.js WebGPU vs naive WGSL',
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

      const quick = process.env.TABSWARM_BENCH_QUICK === '1'
      const shapes = quick ? QUICK_SHAPES : emulated ? SHAPES : [...SHAPES, ...GPU_ONLY_SHAPES]
      const dtypes = f16 ? (['float32', 'float16'] as const) : (['float32'] as const)

      const measure = async (benchCase: BenchCase): Promise<number | undefined> => {
        const { library, m, k, n, dtype } = benchCase
        const label = `${library} ${dtype} ${m}x${k}x${n}`
        let sample: BenchSample
        try {
          sample = await evaluateWithin(page, label, () =>
            page.evaluate((c) => window.kernelBench.run(c), benchCase),
          )
        } catch (err) {
          const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0]
          log(`${label}: failed: ${reason}`)
          notes.push(`${label} could not run: ${reason}`)
          return undefined
        }
        if (!sample.check.ok) {
          // A wrong product must not post a figure, however fast.
          throw new Error(`${label} returned a wrong product: ${JSON.stringify(sample.check)}`)
        }
        const gflops = (2 * m * k * n) / sample.median / 1e9
        log(
          `${label}: ${gflops.toFixed(3)} GFLOP/s (median of ${sample.seconds.map((s) => s.toFixed(3)).join(', ')} s)`,
        )
        return gflops
      }

      for (const dtype of dtypes) {
        for (const shape of shapes) {
          const [m, k, n] = shape
          const reps = repetitionsFor(shape, emulated)
          const base = { m, k, n, dtype, reps }
          const ours = await measure({ ...base, library: 'tabswarm' })
          if (ours === undefined) continue
          const name = `matmul ${dtype === 'float32' ? 'f32' : 'f16'} ${m}x${k}x${n}`
          const row = { case: name, metric: 'gflops', value: ours, unit: 'GFLOP/s' }
          if (dtype === 'float32') {
            const tfjs = await measure({ ...base, library: 'tfjs-webgpu' })
            if (tfjs !== undefined) rows.push({ ...row, vs: { name: 'tfjs-webgpu', value: tfjs } })
          }
          const naive = await measure({ ...base, library: 'naive-wgsl' })
          if (naive !== undefined) rows.push({ ...row, vs: { name: 'naive-wgsl', value: naive } })
        }
      }
      if (errors.length > 0) notes.push(`Page errors: ${errors.join('; ')}`)

      notes.unshift(
        emulated
          ? `The adapter is ${adapterName}, a CPU emulation of a GPU: only the ratios (ours ÷ TF.js, ours ÷ naive, measured side by side in this run) mean anything; the absolute GFLOP/s are not GPU speeds.`
          : `Adapter: ${adapterName}.`,
        `All three run in one headless Chromium page on that adapter: Tabswarm's kernel host (variant \`auto\`: tiled, or GEMV when m or n is 1), TensorFlow.js ${setup.tfjs.version} (\`@tensorflow/tfjs-backend-webgpu\`, CPU forwarding off) and our naive WGSL kernel.`,
        'Each figure is 2·m·k·n ÷ the median wall time of the timed repetitions (5, or 3 at ≥ 1 GFLOP on an emulated adapter; 9 on a GPU) after one warm-up, each from Float32Arrays in JS memory to the product back in JS memory: upload, compute and read-back included for every library alike.',
        "Every warm-up product passes Freivalds' check before its timings count.",
        f16
          ? 'f16 rows: f16 storage with f32 accumulation; TensorFlow.js has no f16 tensors, so they compare with our naive kernel only.'
          : 'The adapter lacks shader-f16, so there are no f16 rows.',
        emulated
          ? 'Shapes of 2048³ and up run only on a real GPU (SwiftShader would take minutes per repetition).'
          : 'Shapes up to 4096³ included.',
      )
      if (quick) notes.push('TABSWARM_BENCH_QUICK=1: only the 256³ and 512³ squares were run.')
      return {
        rows,
        machine: {
          gpuAdapter: adapterName,
          runtime: `headless Chromium (${browser.version()}), WebGPU`,
          tfjs: setup.tfjs.version,
        },
        notes,
      }
    } finally {
      await browser.close()
      await served.close()
    }
  },
}
