import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeNpy } from '@tabswarm/sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/free-port.ts'
import { randomMatrix } from '../support/random-matrix.ts'
import { runCli } from '../support/run-cli.ts'

/** A `.npy` file numpy would write for float64 data, which Tabswarm does not take. */
function float64Npy(values: number[]): Uint8Array {
  const dict = `{'descr': '<f8', 'fortran_order': False, 'shape': (${values.length},), }`
  const header = `${dict}${' '.repeat(128 - 10 - dict.length - 1)}\n`
  const out = new Uint8Array(128 + values.length * 8)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length, 0])
  out.set(new TextEncoder().encode(header), 10)
  new Float64Array(out.buffer, 128).set(values)
  return out
}

/** Each bad input gets one line on stderr that names the problem, and a non-zero exit. */
describe('every tabswarm command refuses bad input', () => {
  let dir: string
  let port: number
  const path = (name: string) => join(dir, name)
  // A port that was just free: the kernel refuses the connection, as for a relay that is down.
  const deadRelay = () => ['--relay', `http://127.0.0.1:${port}`]
  // Every case runs with its config home in the temp dir: a worker must not write a wallet
  // key for input it refuses, and no test may write into the runner's home.
  const configHome = () => path('config-home')

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tabswarm-cli-'))
    port = await freePort()
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
    await writeFile(path('k.wgsl'), '@compute @workgroup_size(64) fn main() {}')
    await mkdir(path('f64'))
    await writeFile(path('f64/x.npy'), float64Npy([1, 2, 3]))
    // float32 cannot hold 1e39: --cast must refuse it, naming the element.
    await mkdir(path('f64-huge'))
    await writeFile(path('f64-huge/x.npy'), float64Npy([1, 1e39, 3]))
    const spec = (inputs: string) => ({
      wgsl: 'k.wgsl',
      inputs,
      output: { dtype: 'float32', shape: 'input' },
      workgroups: { elementsPerWorkgroup: 64 },
    })
    await writeFile(path('f64.json'), JSON.stringify(spec('f64')))
    await writeFile(path('f64-huge.json'), JSON.stringify(spec('f64-huge')))
    // Two bytes short of what its header declares, as after a cut-off copy.
    await mkdir(path('short'))
    const whole = encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(3) })
    await writeFile(path('short/x.npy'), whole.subarray(0, whole.length - 2))
    await writeFile(path('short.json'), JSON.stringify(spec('short')))
    await writeFile(path('ok.json'), JSON.stringify(spec('in')))
    await writeFile(path('in-place.json'), JSON.stringify({ ...spec('in'), outputDir: 'in' }))
    await writeFile(path('one-bad.json'), JSON.stringify(spec('mixed')))
    await mkdir(path('mixed'))
    for (const name of ['a.npy', 'b.npy', 'c.npy'])
      await writeFile(
        path(`mixed/${name}`),
        encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(3) }),
      )
    await writeFile(path('mixed/d.npy'), float64Npy([1, 2, 3]))
    await mkdir(path('in'))
    await writeFile(
      path('in/x.npy'),
      encodeNpy({ dtype: 'float32', shape: [3], data: new Float32Array(3) }),
    )
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
      () => ['matmul', path('a.npy'), path('b.npy'), '-o', path('c.npy'), ...deadRelay()],
      3,
      /cannot reach the relay at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    ],
    ['an unknown command', () => ['frobnicate'], 2, /unknown command 'frobnicate'/],
    [
      'run: a missing spec',
      () => ['run', path('nope.json')],
      2,
      /cannot read .*nope\.json \(ENOENT\)/,
    ],
    [
      'run: a float64 input, with the fix',
      () => ['run', path('f64.json')],
      2,
      /x\.npy: unsupported dtype '<f8' \(float64, numpy's default\); .*a\.astype\('float32'\)\), or pass --cast float32$/m,
    ],
    [
      'matmul: a float64 input, with the fix',
      () => ['matmul', path('f64/x.npy'), path('b.npy'), '-o', path('c.npy')],
      2,
      /^tabswarm: error: a: .*x\.npy: unsupported dtype '<f8' \(float64, numpy's default\); .*--cast float32$/m,
    ],
    [
      'run --cast float32: a value beyond float32, by its index',
      () => ['run', path('f64-huge.json'), '--cast', 'float32', ...deadRelay()],
      2,
      /x\.npy: element \(1,\) is 1e\+39, beyond float32's range/,
    ],
    [
      'matmul: a --cast other than float32',
      () => ['matmul', path('a.npy'), path('b.npy'), '-o', path('c.npy'), '--cast', 'float16'],
      2,
      /--cast takes float32 .*got "float16"/,
    ],
    [
      'run: a truncated input',
      () => ['run', path('short.json')],
      2,
      /x\.npy: \.npy shape \(3\) needs 12 data bytes, file has 10/,
    ],
    [
      'run: the relay down',
      () => ['run', path('ok.json'), ...deadRelay()],
      3,
      /cannot reach the relay/,
    ],
    // The bad input is last of four and the relay is down: exit 2, not 3, shows every
    // header is checked before the first upload is tried.
    [
      'run: one bad input among good ones, before any upload',
      () => ['run', path('one-bad.json'), ...deadRelay()],
      2,
      /d\.npy: unsupported dtype '<f8'/,
    ],
    [
      'run: the output directory is the input directory',
      () => ['run', path('in-place.json'), ...deadRelay()],
      2,
      /holds inputs, which the outputs .* would overwrite/,
    ],
    [
      'run: a bad --budget',
      () => ['run', path('ok.json'), '--budget', '1.5'],
      2,
      /--budget must be a whole, non-negative number/,
    ],
    ['jobs: a bad --status', () => ['jobs', '--status', 'bogus'], 2, /--status must be one of/],
    ['jobs: the relay down', () => ['jobs', ...deadRelay()], 3, /cannot reach the relay/],
    ['job: no id', () => ['job'], 2, /job takes one job id/],
    [
      'job: not an id',
      () => ['job', 'a/b', ...deadRelay()],
      2,
      /^tabswarm: error: not a job id: "a\/b"/,
    ],
    [
      'credits: 0x but not an address',
      () => ['credits', '0xabc', ...deadRelay()],
      2,
      /^tabswarm: error: not a wallet address or account name: "0xabc" \(an address is 0x and 40 hex digits/,
    ],
    ['job: the relay down', () => ['job', 'abc', ...deadRelay()], 3, /cannot reach the relay/],
    ['cancel: no id', () => ['cancel'], 2, /cancel takes one job id/],
    [
      'cancel: the relay down',
      () => ['cancel', 'abc', ...deadRelay()],
      3,
      /cannot reach the relay/,
    ],
    ['credits: not an address', () => ['credits', 'not an address!'], 2, /not a wallet address/],
    [
      'credits: the relay down',
      () => ['credits', `0x${'ab'.repeat(20)}`, ...deadRelay()],
      3,
      /cannot reach the relay/,
    ],
    ['worker: a bad --max-tasks', () => ['worker', '--max-tasks', '0'], 2, /--max-tasks must be/],
    ['worker: the relay down', () => ['worker', ...deadRelay()], 3, /cannot reach the relay/],
    [
      'worker: a relay multiaddr nothing answers on',
      () => ['worker', '--relay', `/ip4/127.0.0.1/tcp/${port}/ws`],
      3,
      /cannot reach the relay/,
    ],
    [
      'worker: an http relay URL that is not http',
      () => ['worker', '--relay', 'ftp://example.org'],
      2,
      /must be an http\(s\) URL or a multiaddr/,
    ],
    [
      'worker: a bad multiaddr',
      () => ['worker', '--relay', '/ip4/nope'],
      2,
      /not a valid multiaddr/,
    ],
    [
      'start: a port that is not a number',
      () => ['start', '--port', 'abc'],
      2,
      /--port must be a port number/,
    ],
    [
      'start: a bad --listen multiaddr',
      () => ['start', '--listen', '/ip4/127.0.0.1/tcp/nope'],
      2,
      /--listen has an invalid multiaddr/,
    ],
    [
      'start: a bad --announce multiaddr',
      () => ['start', '--announce', 'example.org:443'],
      2,
      /--announce has an invalid multiaddr/,
    ],
  ]

  it.each(cases)('%s', async (_name, args, code, message) => {
    const result = await runCli(args(), {
      timeoutMs: 30_000,
      env: { XDG_CONFIG_HOME: configHome() },
    })
    expect(result.stderr).toMatch(message)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.code).toBe(code)
  })

  it('no refused command wrote a file: no wallet key, no output', () => {
    expect(existsSync(configHome())).toBe(false)
    expect(existsSync(path('c.npy'))).toBe(false)
  })
})
