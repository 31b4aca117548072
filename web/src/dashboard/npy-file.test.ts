import { encodeNpy } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import { readNpyFile } from './npy-file.ts'

/** A float64 `.npy` as numpy writes it by default: the float32 header with '<f8'. */
function float64File(name: string, shape: number[], values: number[]): File {
  const float32 = encodeNpy({ dtype: 'float32', shape, data: Float32Array.from(values) })
  const offset = float32.byteLength - values.length * 4
  const header = float32.slice(0, offset)
  header[Buffer.from(header).indexOf("'<f4'") + 3] = '8'.charCodeAt(0)
  const bytes = new Uint8Array(offset + values.length * 8)
  bytes.set(header)
  bytes.set(new Uint8Array(Float64Array.from(values).buffer), offset)
  return new File([bytes], name)
}

describe('reading a .npy file chosen in the page', () => {
  it('reads float32 as it is', async () => {
    const file = new File(
      [
        encodeNpy({
          dtype: 'float32',
          shape: [2],
          data: Float32Array.of(1.5, -2),
        }) as Uint8Array<ArrayBuffer>,
      ],
      'x.npy',
    )
    const read = await readNpyFile(file, { castFloat64: false })
    expect(read.array).toMatchObject({ dtype: 'float32', shape: [2] })
    expect([...read.array.data]).toEqual([1.5, -2])
    expect(read.castWarning).toBeUndefined()
  })

  it('refuses float64 naming the file and both fixes, and casts it with a warning when asked', async () => {
    const file = float64File('big.npy', [2, 2], [0.1, 1e-10, 3, -1e30])
    await expect(readNpyFile(file, { castFloat64: false })).rejects.toThrow(
      /^big\.npy holds float64 numbers.*convert float64 to float32.*astype\('float32'\)/,
    )
    const read = await readNpyFile(file, { castFloat64: true })
    expect(read.array.dtype).toBe('float32')
    expect(read.array.shape).toEqual([2, 2])
    expect([...read.array.data]).toEqual([
      Math.fround(0.1),
      Math.fround(1e-10),
      3,
      Math.fround(-1e30),
    ])
    expect(read.castWarning).toMatch(/big\.npy was converted from float64 to float32/)
  })

  it('refuses a value float32 cannot hold, naming the file and the element', async () => {
    const file = float64File('huge.npy', [2, 2], [1, 2, 3, 1e300])
    await expect(readNpyFile(file, { castFloat64: true })).rejects.toThrow(
      /^huge\.npy: element \(1, 1\) is 1e\+300, beyond float32's range/,
    )
  })

  it('names the file when it is not a .npy at all, or a truncated float64 one', async () => {
    await expect(
      readNpyFile(new File(['hello'], 'notes.txt'), { castFloat64: true }),
    ).rejects.toThrow(/^notes\.txt: /)
    const whole = new Uint8Array(await float64File('t.npy', [4], [1, 2, 3, 4]).arrayBuffer())
    await expect(
      readNpyFile(new File([whole.subarray(0, whole.length - 8)], 't.npy'), { castFloat64: true }),
    ).rejects.toThrow(/^t\.npy: /)
  })
})
