/** Options of `createBufferPool`. */
export type BufferPoolOptions = {
  /**
   * Most bytes kept idle in the pool; buffers released past it are destroyed.
   * @default 256 MiB
   */
  maxPooledBytes?: number
  /**
   * Most idle buffers kept per (usage, size class).
   * @default 4
   */
  maxPerClass?: number
}

/** GPU buffers of one device, reused by usage and size class. */
export type BufferPool = {
  /**
   * A buffer with exactly `usage` and at least `bytes` bytes (rounded up to its size
   * class). Pooled buffers hold stale data: callers clear or overwrite what they read.
   */
  acquire(label: string, bytes: number, usage: GPUBufferUsageFlags): GPUBuffer
  /** Return a buffer the GPU may keep using in queue order; destroyed if the pool is full. */
  release(buffer: GPUBuffer): void
  /** Bytes idle in the pool now. */
  readonly pooledBytes: number
  /** Destroy every idle buffer; later releases destroy their buffer. Idempotent. */
  destroy(): void
}

const MIN_CLASS_BYTES = 256

/**
 * Size class of a request: powers of two split in quarters (256, 320, 384, 448, 512,
 * 640, ...), so a reused buffer wastes at most 25 % while neighbouring sizes still share.
 * Never above `maxBytes` (the device's `maxBufferSize`, kept a multiple of 4): rounding
 * up must not turn a buffer that fits the device into one `createBuffer` refuses, which
 * happens whenever the limit is not itself a class boundary. A request above `maxBytes`
 * is returned as is, for `createBuffer` to refuse.
 */
export function bufferSizeClass(bytes: number, maxBytes = Number.POSITIVE_INFINITY): number {
  if (bytes <= MIN_CLASS_BYTES) return Math.max(bytes, Math.min(MIN_CLASS_BYTES, maxBytes))
  const power = 2 ** Math.floor(Math.log2(bytes))
  const step = power / 4
  const size = Math.ceil(bytes / step) * step
  return Math.max(bytes, Math.min(size, Math.floor(maxBytes / 4) * 4))
}

/**
 * Pool GPU buffers of one device so repeated kernel calls stop allocating (WebGPU
 * zero-fills every new buffer, which costs as much as an upload). Bounded in bytes and
 * per class; `destroy()` on device loss or host disposal frees everything it holds.
 * Only buffers whose last use was a clean, completed call should be released: a buffer
 * with a pending map must be destroyed instead.
 */
export function createBufferPool(device: GPUDevice, options: BufferPoolOptions = {}): BufferPool {
  const maxPooledBytes = options.maxPooledBytes ?? 256 * 1024 * 1024
  const maxPerClass = options.maxPerClass ?? 4
  const { maxBufferSize } = device.limits
  const idle = new Map<string, GPUBuffer[]>()
  let pooledBytes = 0
  let destroyed = false
  const keyOf = (size: number, usage: number): string => `${usage}:${size}`

  return {
    acquire(label, bytes, usage) {
      const size = bufferSizeClass(bytes, maxBufferSize)
      const reused = idle.get(keyOf(size, usage))?.pop()
      if (reused) {
        pooledBytes -= reused.size
        reused.label = label
        return reused
      }
      return device.createBuffer({ label, size, usage })
    },
    release(buffer) {
      const list = idle.get(keyOf(buffer.size, buffer.usage)) ?? []
      if (
        destroyed ||
        buffer.mapState !== 'unmapped' ||
        list.length >= maxPerClass ||
        pooledBytes + buffer.size > maxPooledBytes
      ) {
        buffer.destroy()
        return
      }
      list.push(buffer)
      idle.set(keyOf(buffer.size, buffer.usage), list)
      pooledBytes += buffer.size
    },
    get pooledBytes() {
      return pooledBytes
    },
    destroy() {
      destroyed = true
      for (const list of idle.values()) for (const buffer of list) buffer.destroy()
      idle.clear()
      pooledBytes = 0
    },
  }
}
