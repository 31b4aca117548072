/**
 * A kernel worker for the device-loss case: the production worker API, on a GPU whose
 * devices this worker keeps hold of, so the page can destroy the current one mid-call
 * the way a driver reset or GPU-process crash would take it away.
 */
import { createKernelWorkerApi, exposeKernelWorker } from '@tabswarm/worker-kernels'
import { observedGpu } from '@tabswarm/worker-kernels/testing'

/** What this worker exposes beyond `KernelWorkerApi`. */
export type DeviceLossControls = {
  /** Destroy the device the host is using now. */
  loseDevice(): Promise<void>
  /** How many devices the host has requested so far. */
  deviceCount(): Promise<number>
}

const real = (globalThis.navigator as Partial<Navigator> | undefined)?.gpu
const observed = real && observedGpu(real)
const devices = observed?.devices ?? []

const controls: DeviceLossControls = {
  async loseDevice() {
    devices.at(-1)?.destroy()
  },
  async deviceCount() {
    return devices.length
  },
}

exposeKernelWorker({ ...createKernelWorkerApi({ gpu: observed?.gpu }), ...controls })
