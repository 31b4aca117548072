import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import {
  decoderTensorNames,
  encodeSafetensors,
  InferenceJobSpecSchema,
  type SafetensorsEntry,
} from '@tabswarm/protocol'
import { createTestModel, type TestModel } from '@tabswarm/worker-kernels/test-model'
import { writeTestModel } from '@tabswarm/worker-kernels/test-model/node'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createClient } from '../client/client.ts'
import { createClient as createNodeClient } from '../node/index.ts'
import { readModelDirectory, uploadModelDirectory } from './model-directory.ts'
import { ModelDirectoryError } from './model-directory-error.ts'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-model-'))
})
afterEach(() => rm(dir, { recursive: true, force: true }))

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const small = { family: 'llama', layers: 2, hiddenSize: 32, vocabSize: 280 } as const

/** The test model's tensors as safetensors entries, `dtype` as stored. */
function entriesOf(model: TestModel, dtype: 'F32' | 'BF16' = 'F32'): SafetensorsEntry[] {
  return decoderTensorNames(model.config).map(({ name, shape }) => {
    const values = model.weights.get(name)!
    const data =
      dtype === 'F32'
        ? values
        : new Uint16Array(
            new Uint32Array(values.buffer, values.byteOffset, values.length).map((b) => b >>> 16),
          )
    return { name, dtype, shape, data }
  })
}

/** Rewrite the directory as a two-file checkpoint with its index. */
async function shard(model: TestModel) {
  const entries = entriesOf(model)
  const half = Math.ceil(entries.length / 2)
  const files = [entries.slice(0, half), entries.slice(half)]
  const weightMap: Record<string, string> = {}
  for (const [i, part] of files.entries()) {
    const name = `model-0000${i + 1}-of-00002.safetensors`
    await writeFile(join(dir, name), encodeSafetensors(part))
    for (const entry of part) weightMap[entry.name] = name
  }
  await unlink(join(dir, 'model.safetensors'))
  await writeFile(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: weightMap }),
  )
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a refusal')
    },
    (err: unknown) => {
      expect(err).toBeInstanceOf(ModelDirectoryError)
      return (err as Error).message
    },
  )

describe('readModelDirectory', () => {
  it('reads a single-file checkpoint: config, headers, hash, tokenizer', async () => {
    const model = await writeTestModel(dir, { family: 'gpt2', layers: 2 })
    const read = await readModelDirectory(dir)
    expect(read.config).toEqual(model.config)
    expect(read.files.map((f) => [f.name, f.bytes, f.sha256])).toEqual([
      ['model.safetensors', model.safetensors.length, sha256(model.safetensors)],
    ])
    expect(read.tokenizer.decode(read.tokenizer.encode('the fox'))).toBe('the fox')
  })

  it('reads a sharded checkpoint through its index, in the index order', async () => {
    const model = await writeTestModel(dir, small)
    await shard(model)
    const read = await readModelDirectory(dir)
    expect(read.files.map((f) => f.name)).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ])
    for (const file of read.files) expect(file.sha256).toBe(sha256(await readFile(file.path)))
  })

  it('refuses BF16 weights, naming the file, the tensor and the conversion', async () => {
    const model = await writeTestModel(dir, small)
    await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(entriesOf(model, 'BF16')))
    const message = await refusal(readModelDirectory(dir))
    expect(message).toMatch(/^model\.safetensors: tensor model\.embed_tokens\.weight is BF16;/)
    expect(message).toMatch(/torch_dtype='float16'/)
  })

  it.each([
    [
      'config.json',
      /has no config\.json: a model directory holds config\.json, model\.safetensors/,
    ],
    ['tokenizer.json', /has no tokenizer\.json/],
    ['model.safetensors', /has no model\.safetensors \(nor model\.safetensors\.index\.json\)/],
  ])('refuses a directory without %s, saying what one holds', async (file, message) => {
    await writeTestModel(dir, small)
    await unlink(join(dir, file))
    expect(await refusal(readModelDirectory(dir))).toMatch(message)
  })

  it('refuses a shard the index names but the directory lacks', async () => {
    await shard(await writeTestModel(dir, small))
    await unlink(join(dir, 'model-00002-of-00002.safetensors'))
    expect(await refusal(readModelDirectory(dir))).toMatch(
      /names model-00002-of-00002\.safetensors, which is not in .*: download every shard/,
    )
  })

  it('refuses a checkpoint whose shapes disagree with config.json, naming file and tensor', async () => {
    const model = await writeTestModel(dir, { family: 'gpt2', layers: 2 })
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...model.configJson, n_positions: 64, n_ctx: 64 }),
    )
    expect(await refusal(readModelDirectory(dir))).toMatch(
      /^model\.safetensors \(against config\.json\): Checkpoint tensor wpe\.weight has shape \[128,64\]; config\.json implies \[64,64\]/,
    )
  })

  it('refuses a sharded checkpoint missing a layer, naming the tensor', async () => {
    const model = await writeTestModel(dir, small)
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...model.configJson, num_hidden_layers: 3 }),
    )
    expect(await refusal(readModelDirectory(dir))).toMatch(
      /lacks tensor model\.layers\.2\.input_layernorm\.weight/,
    )
  })

  it('refuses an unsupported architecture and a file over the blob limit, with the fix', async () => {
    const model = await writeTestModel(dir, small)
    expect(await refusal(readModelDirectory(dir, { maxFileBytes: 1000 }))).toMatch(
      /model\.safetensors is 0\.\d MiB, over the 0\.0 MiB a relay stores as one blob: re-save the model in smaller shards/,
    )
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({ ...model.configJson, model_type: 'qwen2' }),
    )
    expect(await refusal(readModelDirectory(dir))).toMatch(
      /^config\.json: config\.json model_type "qwen2" is not a supported decoder family\. Supported: gpt2, llama, mistral/,
    )
  })

  it('refuses a path that is not a directory', async () => {
    expect(await refusal(readModelDirectory(join(dir, 'nope')))).toMatch(/is not a directory/)
  })
})

/**
 * A relay's blob routes over real HTTP (`PUT /v1/blobs` hashing the body as it streams in,
 * `HEAD /v1/blobs/:hash`), so the upload goes through Node's fetch as in use.
 */
async function blobRelay() {
  const stored = new Map<string, number>()
  const puts: Array<{ contentLength: string | undefined }> = []
  const server = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://x')
    if (request.method === 'PUT' && url.pathname === '/v1/blobs') {
      const hash = createHash('sha256')
      let size = 0
      for await (const chunk of request) {
        hash.update(chunk as Buffer)
        size += (chunk as Buffer).length
      }
      const blob = hash.digest('hex')
      stored.set(blob, size)
      puts.push({ contentLength: request.headers['content-length'] })
      response.writeHead(201, { 'content-type': 'application/json' })
      return response.end(JSON.stringify({ blob, size }))
    }
    const match = /^\/v1\/blobs\/([0-9a-f]{64})$/.exec(url.pathname)
    if (request.method === 'HEAD' && match) {
      response.writeHead(stored.has(match[1]!) ? 200 : 404)
      return response.end()
    }
    response.writeHead(404, { 'content-type': 'application/json' })
    response.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: request.url } }))
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const relay = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    client: Object.assign(createClient({ relay }), { base: relay }),
    stored,
    puts,
    close: () => new Promise((done) => server.close(done)),
  }
}

describe('uploadModelDirectory', () => {
  it('uploads each file as one blob, streamed, and skips those the relay already holds', async () => {
    const model = createTestModel(small)
    await writeTestModel(dir, model)
    await shard(model)
    const relay = await blobRelay()
    try {
      const files: Array<{ name: string; skipped: boolean }> = []
      const onFile = ({ name, skipped }: { name: string; skipped: boolean }) =>
        files.push({ name, skipped })
      const loaded = await uploadModelDirectory(relay.client, dir, { onFile })
      const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']
      const bytes = await Promise.all(shards.map((s) => readFile(join(dir, s))))
      expect(loaded.ref.files).toEqual(bytes.map((b) => ({ blob: sha256(b) })))
      expect(loaded.ref.name).toBe(basename(dir))
      expect(loaded.ref.tokenizer?.blob).toBe(sha256(await readFile(join(dir, 'tokenizer.json'))))
      for (const [i, { blob }] of loaded.ref.files.entries())
        expect(relay.stored.get(blob)).toBe(bytes[i]!.length)
      // Sent from the file with its length known, not chunked from memory.
      expect(relay.puts.slice(0, 2).map((p) => Number(p.contentLength))).toEqual(
        bytes.map((b) => b.length),
      )
      expect(files).toEqual(shards.map((name) => ({ name, skipped: false })))
      expect(
        InferenceJobSpecSchema.safeParse({
          kernel: 'inference',
          model: loaded.ref,
          mode: 'pipeline',
          prompts: [loaded.tokenizer.encode('the')],
          maxNewTokens: 4,
        }).success,
      ).toBe(true)

      files.length = 0
      await uploadModelDirectory(relay.client, dir, { onFile })
      expect(files).toEqual(shards.map((name) => ({ name, skipped: true })))
      expect(relay.puts).toHaveLength(4) // the second time, the tokenizer only
    } finally {
      await relay.close()
    }
  })

  it("is what @tabswarm/sdk/node's client loads for a path, once per client", async () => {
    await writeTestModel(dir, small)
    const relay = await blobRelay()
    try {
      const client = createNodeClient({ relay: relay.client.base })
      const first = await client.loadModel(dir)
      expect(first.ref.files).toEqual([
        { blob: sha256(await readFile(join(dir, 'model.safetensors'))) },
      ])
      expect(await client.loadModel(dir)).toBe(first)
      expect(relay.puts).toHaveLength(2)
    } finally {
      await relay.close()
    }
  })

  it('stops when the signal aborts, before uploading', async () => {
    await writeTestModel(dir, small)
    const relay = await blobRelay()
    try {
      await expect(
        uploadModelDirectory(relay.client, dir, { signal: AbortSignal.abort(new Error('stop')) }),
      ).rejects.toThrow(/stop/)
      expect(relay.puts).toHaveLength(0)
    } finally {
      await relay.close()
    }
  })
})
