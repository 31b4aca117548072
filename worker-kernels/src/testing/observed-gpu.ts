/**
 * Test support, not part of the package's public entry (`@tabswarm/worker-kernels/testing`):
 * a real WebGPU whose devices a test can reach, for the dawn tests and the Chromium test
 * page alike.
 */

/** What `observedGpu` returns. */
export type ObservedGpu = {
  /** Pass this to `createKernelHost` (or `createKernelWorkerApi`) instead of the real GPU. */
  gpu: GPU
  /** Every device requested through `gpu`, oldest first: a test loses one by `destroy()`. */
  devices: GPUDevice[]
}

/**
 * Wrap `real` so each device its adapters hand out is recorded, and shown to `onDevice`
 * before the caller gets it. `onDevice` may replace the device's methods (count
 * submissions, sabotage a call) or its `lost` promise, and may return a promise to delay
 * the answer (a slow driver); `requestAdapter` and everything else go to `real` unchanged.
 *
 * @example
 * const { gpu, devices } = observedGpu(createNodeGpu())
 * const host = await createKernelHost({ gpu })
 * devices[0]?.destroy() // the host's calls now fail with DeviceLostError
 */
export function observedGpu(
  real: GPU,
  onDevice?: (device: GPUDevice) => void | Promise<void>,
): ObservedGpu {
  const devices: GPUDevice[] = []
  const gpu = {
    async requestAdapter(options?: GPURequestAdapterOptions) {
      const adapter = await real.requestAdapter(options)
      if (!adapter) return adapter
      const requestDevice = adapter.requestDevice.bind(adapter)
      adapter.requestDevice = async (descriptor?: GPUDeviceDescriptor) => {
        const device = await requestDevice(descriptor)
        devices.push(device)
        await onDevice?.(device)
        return device
      }
      return adapter
    },
  } as unknown as GPU
  return { gpu, devices }
}
