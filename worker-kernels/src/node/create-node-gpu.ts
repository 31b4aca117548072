import { existsSync } from 'node:fs'
import { create, globals } from 'webgpu'

/** Vulkan ICD of Debian's Chromium package: SwiftShader, which Dawn accepts. */
export const CHROMIUM_SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json'

/** Options of `createNodeGpu`. */
export type NodeGpuOptions = {
  /**
   * Flags for dawn.node, e.g. `['backend=vulkan']` or
   * `['enable-dawn-features=dump_shaders']`.
   * @default []
   */
  dawnOptions?: string[]
}

/**
 * Choose the Vulkan driver before Dawn creates its Vulkan instance. Precedence:
 * `TABSWARM_VK_ICD`, then an existing `VK_ICD_FILENAMES`, then Chromium's SwiftShader
 * when installed (Debian's lavapipe is too old for Dawn, so without this a GPU-less
 * machine gets no adapter). Returns the ICD in effect, if any.
 */
export function selectVulkanIcd(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env.TABSWARM_VK_ICD
  if (override) {
    env.VK_ICD_FILENAMES = override
  } else if (!env.VK_ICD_FILENAMES && existsSync(CHROMIUM_SWIFTSHADER_ICD)) {
    env.VK_ICD_FILENAMES = CHROMIUM_SWIFTSHADER_ICD
  }
  return env.VK_ICD_FILENAMES
}

/**
 * WebGPU for Node through dawn.node (the `webgpu` package). Installs the WebGPU globals
 * (`GPUBufferUsage`, `GPUMapMode`, ...) the kernel host uses, as a browser has them, and
 * picks a Vulkan driver with `selectVulkanIcd`.
 *
 * @example
 * const host = await createKernelHost({ gpu: createNodeGpu() })
 */
export function createNodeGpu(options: NodeGpuOptions = {}): GPU {
  selectVulkanIcd()
  for (const [name, value] of Object.entries(globals)) {
    if (!(name in globalThis)) Object.assign(globalThis, { [name]: value })
  }
  return create(options.dawnOptions ?? [])
}
