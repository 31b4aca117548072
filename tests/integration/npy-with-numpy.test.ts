import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeNpy, type NdArray, parseNpy } from '@tabswarm/sdk'
import { afterAll, describe, expect, it } from 'vitest'
import { pythonWithNumpy } from '../support/python-with-numpy.ts'

const dir = mkdtempSync(join(tmpdir(), 'npy-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function numpy(script: string, ...args: string[]): string {
  return execFileSync(pythonWithNumpy(), ['-c', `import sys, numpy as np\n${script}`, ...args], {
    encoding: 'utf8',
  }).trim()
}

describe('.npy files and numpy agree', () => {
  it('reads what numpy writes: float32, float16, int32, 1-D to 3-D', () => {
    const path = join(dir, 'from-numpy.npy')
    for (const [dtype, shape] of [
      ['float32', '(3, 5)'],
      ['float16', '(4,)'],
      ['int32', '(2, 3, 2)'],
      ['uint32', '(5, 1)'],
    ] as const) {
      numpy(
        `np.save(sys.argv[1], np.arange(np.prod(${shape})).reshape(${shape}).astype(np.${dtype}))`,
        path,
      )
      const array = parseNpy(readFileSync(path))
      expect(array.dtype).toBe(dtype)
      expect(array.shape).toEqual(shape.replace(/[(),]/g, ' ').trim().split(/\s+/).map(Number))
      if (dtype !== 'float16')
        expect([...array.data]).toEqual(Array.from({ length: array.data.length }, (_, i) => i))
    }
  })

  it('writes what numpy reads back bit for bit', () => {
    const path = join(dir, 'to-numpy.npy')
    const data = Float32Array.from({ length: 6 }, (_, i) => i / 3)
    writeFileSync(path, encodeNpy({ dtype: 'float32', shape: [2, 3], data }))
    expect(
      numpy(
        'a = np.load(sys.argv[1]); print(a.dtype, a.shape, a.flags.c_contiguous, a.tobytes().hex())',
        path,
      ),
    ).toBe(`float32 (2, 3) True ${Buffer.from(data.buffer).toString('hex')}`)
  })

  it('round-trips every dtype through numpy: float16 bits, int32 and uint32 extremes', () => {
    const path = join(dir, 'round-trip.npy')
    const cases = [
      // 1.0, -2.0, 65504 (max), 2^-24 (smallest subnormal), +inf, a NaN
      {
        dtype: 'float16',
        data: Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00, 0x7e00]),
      },
      { dtype: 'int32', data: Int32Array.from([-(2 ** 31), -1, 0, 1, 2 ** 31 - 1, 7]) },
      { dtype: 'uint32', data: Uint32Array.from([0, 1, 2 ** 31, 2 ** 32 - 1, 42, 9]) },
    ] as const
    for (const { dtype, data } of cases) {
      writeFileSync(path, encodeNpy({ dtype, shape: [3, 2], data } as NdArray))
      // numpy reads it, checks the dtype, and writes it back with its own writer.
      numpy(
        `a = np.load(sys.argv[1]); assert a.dtype == np.${dtype} and a.shape == (3, 2), (a.dtype, a.shape); np.save(sys.argv[1], a)`,
        path,
      )
      const back = parseNpy(readFileSync(path))
      expect(back.dtype).toBe(dtype)
      expect(back.shape).toEqual([3, 2])
      expect([...back.data]).toEqual([...data])
    }
  })

  it('numpy float64 and Fortran-order files are refused by name', () => {
    const path = join(dir, 'bad.npy')
    numpy('np.save(sys.argv[1], np.zeros((2, 2), dtype=np.float64))', path)
    expect(() => parseNpy(readFileSync(path))).toThrow(/unsupported dtype '<f8'/)
    numpy('np.save(sys.argv[1], np.asfortranarray(np.zeros((2, 3), dtype=np.float32)))', path)
    expect(() => parseNpy(readFileSync(path))).toThrow(/Fortran-order/)
  })
})
