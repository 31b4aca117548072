import { describe, expect, it } from 'vitest'
import { bufferSizeClass, createBufferPool } from './buffer-pool.ts'

/** A device that hands out plain objects standing in for buffers, to test pooling logic. */
function fakeDevice(maxBufferSize = 2 ** 30) {
  const created: { size: number; usage: number; destroyed: boolean }[] = []
  const device = {
    limits: { maxBufferSize },
    createBuffer({ size, usage }: GPUBufferDescriptor) {
      // As WebGPU does: a validation error (here, a throw) past the device's limit.
      if (size > maxBufferSize) throw new Error(`size ${size} > maxBufferSize ${maxBufferSize}`)
      const buffer = {
        size,
        usage,
        label: '',
        mapState: 'unmapped',
        destroyed: false,
        destroy() {
          buffer.destroyed = true
        },
      }
      created.push(buffer)
      return buffer
    },
  } as unknown as GPUDevice
  return { device, created }
}

describe('bufferSizeClass', () => {
  it('rounds up to quarter steps of a power of two, at least 256', () => {
    expect(
      [1, 256, 257, 320, 321, 512, 513, 1000, 1025].map((bytes) => bufferSizeClass(bytes)),
    ).toEqual([256, 256, 320, 320, 384, 512, 640, 1024, 1280])
    for (let bytes = 1; bytes < 100_000; bytes += 97) {
      const size = bufferSizeClass(bytes)
      expect(size).toBeGreaterThanOrEqual(bytes)
      expect(size).toBeLessThanOrEqual(Math.max(256, bytes * 1.25 + 4))
    }
  })

  it('never rounds past maxBytes, keeping sizes a multiple of 4', () => {
    // 1000 and 1003 are no class boundaries: 900 would round to 1024 without the clamp.
    expect(bufferSizeClass(900, 1000)).toBe(1000)
    expect(bufferSizeClass(900, 1003)).toBe(1000)
    expect(bufferSizeClass(1000, 1000)).toBe(1000)
    expect(bufferSizeClass(100, 200)).toBe(200)
    expect(bufferSizeClass(700, 2 ** 30)).toBe(768)
    // Above the limit there is nothing to clamp to: createBuffer must refuse it.
    expect(bufferSizeClass(1200, 1000)).toBe(1200)
  })
})

describe('createBufferPool', () => {
  it('reuses a released buffer of the same usage and size class', () => {
    const { device, created } = fakeDevice()
    const pool = createBufferPool(device)
    const first = pool.acquire('a', 1000, 1)
    pool.release(first)
    expect(pool.acquire('b', 900, 1)).toBe(first)
    expect(pool.acquire('c', 900, 2)).not.toBe(first)
    expect(created).toHaveLength(2)
  })

  it('allocates a buffer that fits maxBufferSize even when its class would not', () => {
    const maxBufferSize = 3 * 2 ** 20 + 4
    const { device, created } = fakeDevice(maxBufferSize)
    const pool = createBufferPool(device)
    // 3 MiB + 1 byte is within the limit; its class (3.5 MiB) is not.
    const buffer = pool.acquire('big', 3 * 2 ** 20 + 1, 1)
    expect(buffer.size).toBe(maxBufferSize)
    pool.release(buffer)
    expect(pool.acquire('again', 3 * 2 ** 20 + 2, 1)).toBe(buffer)
    expect(created).toHaveLength(1)
  })

  it('destroys what it cannot keep: past the byte bound, per-class bound, or when mapped', () => {
    const { device } = fakeDevice()
    const pool = createBufferPool(device, { maxPooledBytes: 2048, maxPerClass: 1 })
    const [a, b, c] = [
      pool.acquire('a', 1024, 1),
      pool.acquire('b', 1024, 1),
      pool.acquire('c', 2048, 4),
    ]
    pool.release(a)
    pool.release(b) // same class, already one idle
    pool.release(c) // would exceed 2048 bytes
    expect([a, b, c].map((x) => (x as unknown as { destroyed: boolean }).destroyed)).toEqual([
      false,
      true,
      true,
    ])
    expect(pool.pooledBytes).toBe(1024)
    const mapped = pool.acquire('m', 300, 8)
    Object.assign(mapped, { mapState: 'pending' })
    pool.release(mapped)
    expect((mapped as unknown as { destroyed: boolean }).destroyed).toBe(true)
  })

  it('destroys idle buffers on destroy() and every later release', () => {
    const { device } = fakeDevice()
    const pool = createBufferPool(device)
    const idle = pool.acquire('a', 10, 1)
    const busy = pool.acquire('b', 10, 1)
    pool.release(idle)
    pool.destroy()
    pool.release(busy)
    expect((idle as unknown as { destroyed: boolean }).destroyed).toBe(true)
    expect((busy as unknown as { destroyed: boolean }).destroyed).toBe(true)
    expect(pool.pooledBytes).toBe(0)
  })
})
