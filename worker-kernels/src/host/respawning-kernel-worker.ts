import { KernelAbortedError, type TabswarmError } from '../errors.ts'
import type { KernelRequest, KernelResultOf } from '../kernels/kernel-request.ts'
import type { HostInfo, KernelRunOptions } from './kernel-types.ts'
import {
  createKernelWorkerClient,
  type KernelWorkerClient,
  type KernelWorkerClientOptions,
  type KernelWorkerRemote,
} from './kernel-worker-client.ts'

/** One started kernel worker: what `spawn` returns. */
export type SpawnedWorker = {
  /** `wrap<KernelWorkerApi>(worker)` of the new worker. */
  remote: KernelWorkerRemote
  /** Stops the worker for good (a dedicated Worker's `terminate()`). */
  terminate(): void
}

/** Options of `createRespawningKernelWorker`. */
export type RespawningKernelWorkerOptions = Omit<KernelWorkerClientOptions, 'remote'> & {
  /** Starts a fresh kernel worker; called once now and once after each respawn. */
  spawn: () => SpawnedWorker
  /**
   * Told each time the worker is replaced, with why. An exception it
   * throws is caught.
   */
  onRespawn?: (reason: string) => void
  /**
   * What becomes of a replaced worker. `'abandon'` keeps it, unterminated, for the life of
   * the page: terminating it destroys its device, and Chromium's GPU process then waits
   * for the endless dispatch to finish before it serves any device again (measured on
   * SwiftShader: the next worker's 4 ms matmul did not finish in 90 s; with the old worker
   * kept, it ran in under 3 s). `'terminate'` ends it, for browsers whose GPU watchdog
   * resets a hung GPU.
   * @default 'abandon'
   */
  retire?: 'abandon' | 'terminate'
}

/** A kernel worker that is replaced when a call runs out of time or is given up on. */
export type RespawningKernelWorker = {
  /** Calls go to the current worker; the same client before and after a respawn. */
  client: KernelWorkerClient
  /** How many times the worker was replaced. */
  readonly respawns: number
  /**
   * Stop the current worker for good; pending and later calls reject with
   * `KernelAbortedError`. Abandoned workers are left alone (see `retire`).
   */
  terminate(): void
}

/**
 * Whether a failed call may have left a dispatch running that would hold up every later
 * call on the device. Only timeouts: a call its caller cancelled (a lease that ended, a
 * Stop) was most likely innocent, and if it was not, the next call times out and the
 * worker is replaced then.
 */
function leavesWorkRunning(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'KERNEL_TIMEOUT'
}

/**
 * A kernel worker for a page that a hostile kernel cannot wedge. WebGPU cannot cancel a
 * dispatch: after a call times out (an endless loop, a 65535×65535 grid) the worker's
 * device is still busy with it, and every later call would queue behind it and time out
 * too. So a call that ran past its deadline (in the worker, or by the page's clock)
 * retires the worker (see `retire`) and starts another; its own error is thrown
 * unchanged, and the next call runs on the new worker's fresh device.
 *
 * @example
 * const kernels = createRespawningKernelWorker({
 *   spawn: () => {
 *     const worker = new Worker(url, { type: 'module' })
 *     return { remote: wrap(worker), terminate: () => worker.terminate() }
 *   },
 * })
 * await kernels.client.init()
 */
export function createRespawningKernelWorker(
  options: RespawningKernelWorkerOptions,
): RespawningKernelWorker {
  const { spawn, onRespawn, retire = 'abandon', ...clientOptions } = options
  /** Replaced workers kept alive on purpose (see `retire`): referenced so GC leaves their devices be. */
  const abandoned: SpawnedWorker[] = []
  let terminated: TabswarmError | undefined
  let respawns = 0

  const start = () => {
    const worker = spawn()
    return { worker, client: createKernelWorkerClient({ ...clientOptions, remote: worker.remote }) }
  }
  let current = start()
  /** Whether `init()` was asked for: a replacement then registers its device-loss listener too. */
  let initialised = false

  const respawn = (from: typeof current, reason: string): void => {
    // Two calls that fail together replace the worker once.
    if (terminated || current !== from) return
    if (retire === 'terminate') from.worker.terminate()
    else abandoned.push(from.worker)
    from.client.close(new KernelAbortedError(`The kernel worker was replaced: ${reason}`))
    respawns++
    current = start()
    // Acquire the new device now, off any call's clock; failures surface on the next call.
    if (initialised) current.client.init().catch(() => {})
    try {
      onRespawn?.(reason)
    } catch (err) {
      ;(globalThis as { reportError?: (err: unknown) => void }).reportError?.(err)
    }
  }

  const guarded = async <T>(call: (client: KernelWorkerClient) => Promise<T>): Promise<T> => {
    if (terminated) throw terminated
    const used = current
    try {
      return await call(used.client)
    } catch (err) {
      if (leavesWorkRunning(err)) {
        const first = (err as Error).message.split('\n')[0]
        respawn(used, `a call ran past its deadline (${first})`)
      }
      throw err
    }
  }

  const run = <R extends KernelRequest>(
    request: R,
    runOptions: KernelRunOptions = {},
  ): Promise<KernelResultOf<R>> => guarded((client) => client.run(request, runOptions))

  const client: KernelWorkerClient = {
    init(runOptions = {}): Promise<HostInfo> {
      initialised = true
      return guarded((c) => c.init(runOptions))
    },
    matmul(request, runOptions = {}) {
      return guarded((c) => c.matmul(request, runOptions))
    },
    run,
    get pending() {
      return current.client.pending
    },
    close(reason = new KernelAbortedError('The kernel worker was closed.')) {
      terminated ??= reason
      current.client.close(reason)
    },
  }

  return {
    client,
    get respawns() {
      return respawns
    },
    terminate() {
      terminated ??= new KernelAbortedError('The kernel worker was terminated.')
      current.worker.terminate()
      current.client.close(terminated)
    },
  }
}
