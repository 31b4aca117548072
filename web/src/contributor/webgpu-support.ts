/** Whether this browser can run the kernels, and if not, why, in words a visitor reads. */
export type WebGpuSupport =
  | { supported: true }
  | {
      supported: false
      /** `no-api`: no `navigator.gpu`; `no-adapter`: it gave no GPU; `timeout`: it did not answer. */
      reason: 'no-api' | 'no-adapter' | 'timeout'
      /** Why this browser cannot help, and what would work. */
      explanation: string
    }

/** `requestAdapter` answers in well under a second, SwiftShader included. */
const DEFAULT_TIMEOUT_MS = 10_000

const WHAT_WORKS =
  'A recent Chrome or Edge on a computer can: open this page there. In another browser, turn on WebGPU in its settings (for example in Firefox Nightly or Safari Technology Preview), or update it.'

export const WEBGPU_EXPLANATIONS = {
  'no-api': `This browser cannot share its GPU: it does not support WebGPU, the standard this page needs to run the work. ${WHAT_WORKS}`,
  'no-adapter': `This browser supports WebGPU but gave this page no GPU to use: it may be turned off, or the graphics driver may be blocked. ${WHAT_WORKS} Updating the graphics driver can also help.`,
  timeout: `This browser did not answer when asked for a GPU. Reload the page to try again. ${WHAT_WORKS}`,
} as const

export interface WebGpuCheckOptions {
  /** `navigator.gpu`, injectable for tests. */
  gpu: Pick<GPU, 'requestAdapter'> | undefined
  signal?: AbortSignal
  /** @default 10000 */
  timeoutMs?: number
}

/**
 * Asks the browser for a GPU adapter before anything else runs, so that a visitor whose
 * browser cannot help is told so before they click, not after. The adapter itself is not
 * kept: the kernel worker asks for its own.
 */
export async function checkWebGpu(options: WebGpuCheckOptions): Promise<WebGpuSupport> {
  const { gpu, timeoutMs = DEFAULT_TIMEOUT_MS } = options
  const unsupported = (reason: 'no-api' | 'no-adapter' | 'timeout'): WebGpuSupport => ({
    supported: false,
    reason,
    explanation: WEBGPU_EXPLANATIONS[reason],
  })
  if (gpu == null) return unsupported('no-api')
  const deadline = AbortSignal.timeout(timeoutMs)
  const stop = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline
  const adapter = await new Promise<GPUAdapter | null | 'timeout'>((resolve, reject) => {
    const onAbort = () =>
      options.signal?.aborted ? reject(options.signal.reason) : resolve('timeout')
    if (stop.aborted) return onAbort()
    stop.addEventListener('abort', onAbort, { once: true })
    // A browser that refuses (blocked by policy) may reject rather than resolve null.
    gpu
      .requestAdapter()
      .then(resolve, () => resolve(null))
      .finally(() => stop.removeEventListener('abort', onAbort))
  })
  if (adapter === 'timeout') return unsupported('timeout')
  return adapter == null ? unsupported('no-adapter') : { supported: true }
}
