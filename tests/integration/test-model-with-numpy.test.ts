import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTestModel } from '@tabswarm/worker-kernels/test-model/node'
import { afterAll, describe, expect, it } from 'vitest'
import { pythonWithNumpy } from '../support/python-with-numpy.ts'

const dir = mkdtempSync(join(tmpdir(), 'test-model-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/**
 * numpy reads the test model's safetensors with nothing of ours: the header by `struct`
 * and `json`, each tensor by `np.frombuffer`. It checks the layout itself (contiguous,
 * in bounds, sizes from shape and dtype) and prints the tensors asked for as float lists,
 * which must equal the values the generator says it wrote.
 */
const READER = `
import sys, json, struct, numpy as np
path, wanted = sys.argv[1], sys.argv[2].split(',')
raw = open(path, 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
meta = header.pop('__metadata__', {})
data = raw[8 + n:]
sizes = {'F32': 4, 'F16': 2}
cursor = 0
for name, t in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
    begin, end = t['data_offsets']
    assert begin == cursor, (name, begin, cursor)
    assert end - begin == int(np.prod(t['shape'], dtype=np.int64)) * sizes[t['dtype']], name
    cursor = end
assert cursor == len(data), (cursor, len(data))
out = {'meta': meta, 'shapes': {k: v['shape'] for k, v in header.items()}, 'dtypes': sorted({v['dtype'] for v in header.values()}), 'values': {}}
for name in wanted:
    t = header[name]
    begin, end = t['data_offsets']
    a = np.frombuffer(data[begin:end], dtype={'F32': '<f4', 'F16': '<f2'}[t['dtype']]).reshape(t['shape'])
    out['values'][name] = a.astype(np.float64).ravel().tolist()
print(json.dumps(out))
`

function readWithNumpy(path: string, names: string[]) {
  const text = execFileSync(pythonWithNumpy(), ['-c', READER, path, names.join(',')], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
  return JSON.parse(text) as {
    meta: Record<string, string>
    shapes: Record<string, number[]>
    dtypes: string[]
    values: Record<string, number[]>
  }
}

describe('the test model, read by numpy', () => {
  it.each([
    [
      'gpt2',
      'float32',
      'F32',
      ['wte.weight', 'h.3.attn.c_attn.weight', 'h.5.mlp.c_proj.bias', 'ln_f.weight'],
    ],
    [
      'llama',
      'float16',
      'F16',
      ['model.embed_tokens.weight', 'model.layers.2.self_attn.k_proj.weight', 'lm_head.weight'],
    ],
  ] as const)(
    '%s in %s: layout checked, shapes and values equal',
    async (family, dtype, stored, names) => {
      const model = await writeTestModel(join(dir, `${family}-${dtype}`), { family, dtype })
      const read = readWithNumpy(join(dir, `${family}-${dtype}`, 'model.safetensors'), [...names])
      expect(read.meta).toEqual({ format: 'pt' })
      expect(read.dtypes).toEqual([stored])
      expect(Object.keys(read.shapes).sort()).toEqual([...model.weights.keys()].sort())
      for (const name of names) {
        const values = model.weights.get(name) as Float32Array
        expect(read.shapes[name]?.reduce((a, b) => a * b, 1)).toBe(values.length)
        expect(Float32Array.from(read.values[name] ?? [])).toEqual(values)
      }
    },
  )
})
