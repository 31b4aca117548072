import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeNpy } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { randomMatrix } from '../support/random-matrix.ts'
import { runCli } from '../support/run-cli.ts'

/** Each bad input gets one line on stderr that names the problem, and a non-zero exit. */
describe('tabswarm matmul refuses bad input', () => {
  let dir: string
  const path = (name: string) => join(dir, name)
  // Port 9 (discard) on loopback: nothing listens, so a dial is refused at once.
  const deadRelay = ['--relay', 'http://127.0.0.1:9']

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-cli-'))
    await writeFile(
      path('a.npy'),
      encodeNpy({ dtype: 'float32', shape: [4, 3], data: randomMatrix(4, 3, 1) }),
    )
    await writeFile(
      path('b.npy'),
      encodeNpy({ dtype: 'float32', shape: [3, 2], data: randomMatrix(3, 2, 2) }),
    )
    await writeFile(
      path('b-wrong.npy'),
      encodeNpy({ dtype: 'float32', shape: [5, 2], data: randomMatrix(5, 2, 3) }),
    )
    await writeFile(
      path('int.npy'),
      encodeNpy({ dtype: 'int32', shape: [3, 2], data: new Int32Array(6) }),
    )
    await writeFile(path('garbage.npy'), 'this is not numpy')
  })
  afterAll(() => rm(dir, { recursive: true, force: true }))

  const cases: Array<[string, () => string[], number, RegExp]> = [
    [
      'a missing file',
      () => ['matmul', path('nope.npy'), path('b.npy'), '-o', path('c.npy')],
      2,
      /no such file .*nope\.npy/,
    ],
    [
      'a malformed .npy',
      () => ['matmul', path('garbage.npy'), path('b.npy'), '-o', path('c.npy')],
      2,
      /not a \.npy file/,
    ],
    [
      'a wrong dtype',
      () => ['matmul', path('a.npy'), path('int.npy'), '-o', path('c.npy')],
      2,
      /int32; matmul takes float32/,
    ],
    [
      'mismatched shapes',
      () => ['matmul', path('a.npy'), path('b-wrong.npy'), '-o', path('c.npy')],
      2,
      /shapes do not align: a is 4x3, b is 5x2/,
    ],
    ['no output file', () => ['matmul', path('a.npy'), path('b.npy')], 2, /needs an output file/],
    ['an unknown flag', () => ['matmul', '--frobnicate'], 2, /frobnicate/],
    [
      'an unreachable relay',
      () => ['matmul', path('a.npy'), path('b.npy'), '-o', path('c.npy'), ...deadRelay],
      3,
      /cannot reach the relay at http:\/\/127\.0\.0\.1:9/,
    ],
    ['an unknown command', () => ['frobnicate'], 2, /unknown command 'frobnicate'/],
  ]

  it.each(cases)('%s', async (_name, args, code, message) => {
    const result = await runCli(args(), { timeoutMs: 30_000 })
    expect(result.stderr).toMatch(message)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.code).toBe(code)
  })
})
