import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, unlink } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeTestModel } from '@tabswarm/worker-kernels/test-model/node'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { tokenizerFromJson } from '../../inference/text-tokenizer.ts'
import { main } from '../main.ts'

let dir: string
let server: Server
let relay: string
const requests: Array<{ method: string; path: string; body: string }> = []
/** What the fake relay's job does: its token events, or a failure. */
let script: { tokens: number[][]; fail?: string } = { tokens: [] }

const job = (status: string, error?: string) => ({
  id: 'job1',
  kernel: 'inference',
  owner: 'local',
  status,
  priority: 1,
  tasks: { total: 3, accepted: 0, leased: 0, rejectedResults: 0 },
  credits: { budget: '42', spent: '0', refunded: '0' },
  createdAt: 0,
  ...(status === 'running'
    ? {
        waiting: {
          reason: 'no-contributors',
          tasks: 3,
          message: '3 tasks waiting: no contributor online',
        },
      }
    : {}),
  ...(error ? { error } : {}),
})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tabswarm-generate-'))
  await writeTestModel(dir, { family: 'gpt2', layers: 2 })
  // A relay answering the routes generate uses: blobs, jobs, the event stream.
  server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const path = new URL(request.url ?? '/', 'http://x').pathname
    requests.push({
      method: request.method!,
      path,
      body: path === '/v1/jobs' ? body.toString() : '',
    })
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(value))
    }
    if (request.method === 'HEAD') return json(404, {})
    if (path === '/v1/blobs')
      return json(201, { blob: createHash('sha256').update(body).digest('hex'), size: body.length })
    if (path === '/v1/jobs') return json(201, job('running'))
    if (path === '/v1/jobs/job1/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream' })
      response.write(`event: progress\ndata: ${JSON.stringify({ job: job('running') })}\n\n`)
      let from = 0
      for (const [i, tokens] of script.tokens.entries()) {
        const finish = i === script.tokens.length - 1 && !script.fail ? ',"finish":"length"' : ''
        response.write(
          `event: tokens\ndata: {"type":"tokens","sequence":0,"from":${from},"tokens":${JSON.stringify(tokens)}${finish}}\n\n`,
        )
        from += tokens.length
      }
      const end = script.fail ? 'failed' : 'completed'
      response.end(`event: ${end}\ndata: ${JSON.stringify({ job: job(end, script.fail) })}\n\n`)
      return
    }
    json(404, { error: { code: 'NOT_FOUND', message: path } })
  })
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  relay = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((done) => server.close(done))
  await rm(dir, { recursive: true, force: true })
})
afterEach(() => {
  vi.restoreAllMocks()
  requests.length = 0
})

async function run(argv: string[]) {
  let stdout = ''
  let stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk)
    return true
  })
  const code = await main(argv)
  vi.restoreAllMocks()
  return { code, stdout, stderr }
}

describe('tabswarm generate', () => {
  it('uploads the model, submits the prompt and streams the tokens to stdout', async () => {
    const tokenizer = tokenizerFromJson(await readFile(join(dir, 'tokenizer.json'), 'utf8'))
    const ids = tokenizer.encode(' the quick fox 🦊')
    script = { tokens: [ids.slice(0, 2), ids.slice(2)] }
    const { code, stdout, stderr } = await run([
      'generate',
      dir,
      'Once',
      '--max-tokens',
      String(ids.length),
      '--top-k',
      '5',
      '--seed',
      '3',
      '--relay',
      relay,
    ])
    expect(stderr).toMatch(/uploaded: model\.safetensors \(\d+\.\d MiB, 1\/1\)/)
    expect(stderr).toMatch(/job job1: .* 2 layers; /)
    expect(stderr).toMatch(/waiting: 3 tasks waiting: no contributor online/)
    expect(stderr).toMatch(new RegExp(`${ids.length} tokens in \\d+\\.\\d s`))
    expect(stdout).toBe(' the quick fox 🦊\n')
    expect(code).toBe(0)
    const spec = JSON.parse(requests.find((r) => r.path === '/v1/jobs')!.body)
    expect(spec).toMatchObject({
      kernel: 'inference',
      mode: 'pipeline',
      prompts: [tokenizer.encode('Once')],
      sampling: { mode: 'sample', seed: 3, topK: 5 },
    })
  })

  it('exits 1 naming why the job failed', async () => {
    script = { tokens: [[5]], fail: 'stage 1 was corrupted twice and no one else can run it' }
    const { code, stderr } = await run(['generate', dir, 'Once', '--relay', relay])
    expect(stderr).toMatch(
      /tabswarm: error: job job1 failed: stage 1 was corrupted twice and no one else can run it/,
    )
    expect(code).toBe(1)
  })

  it.each([
    [['generate', 'x'], /generate takes a model directory and a prompt/],
    [['generate', 'x', 'p', '--batch', 'b.txt'], /--batch takes the model directory alone/],
    [['generate', 'x', 'p', '--top-p', '0'], /--top-p must be above 0/],
    [['generate', 'x', '--batch', '/nonexistent/prompts.txt'], /cannot read --batch/],
  ])('%j exits 2 before any request', async (argv, message) => {
    const { code, stderr } = await run([...argv, '--relay', relay])
    expect(stderr).toMatch(message)
    expect(code).toBe(2)
    expect(requests).toEqual([])
  })

  it('names a model directory it cannot run, and the fix, before uploading', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'tabswarm-generate-'))
    try {
      await writeTestModel(broken, { family: 'llama', layers: 1 })
      await unlink(join(broken, 'config.json'))
      const { code, stderr } = await run(['generate', broken, 'Hi', '--relay', relay])
      expect(stderr).toMatch(/has no config\.json: a model directory holds config\.json/)
      expect(code).toBe(2)
      expect(requests).toEqual([])
    } finally {
      await rm(broken, { recursive: true, force: true })
    }
  })

  it('says the relay is unreachable and how to start one (exit 3)', async () => {
    const { code, stderr } = await run(['generate', dir, 'Hi', '--relay', 'http://127.0.0.1:9'])
    expect(stderr).toMatch(/cannot reach the relay at http:\/\/127\.0\.0\.1:9 .*tabswarm start/)
    expect(code).toBe(3)
  })
})
