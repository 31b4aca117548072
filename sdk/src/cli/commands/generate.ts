import { readFile, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { JobView } from '@tabswarm/protocol'
import { DEFAULT_MAX_NEW_TOKENS, GENERATE_TIMEOUT_MS } from '../../constants.ts'
import type { GenerateOptions } from '../../inference/generation.ts'
import { uploadModelDirectory } from '../../inference/model-directory.ts'
import { clientFlags, clientFlagsHelp, clientFromFlags } from '../cli-client.ts'
import { ExitCode } from '../exit-codes.ts'
import { budgetFlag, jobFlagsHelp, timeoutMsFlag } from '../flags.ts'
import {
  batchPrompts,
  maxTokensFlag,
  samplingFromFlags,
  stagesFlag,
  verificationFromFlags,
} from '../generate-flags.ts'
import { describeWaiting } from '../job-progress.ts'
import { describeCredits } from '../job-summary.ts'
import { plural } from '../plural.ts'
import { UsageError } from '../usage-error.ts'

const DEFAULT_TIMEOUT_SECONDS = GENERATE_TIMEOUT_MS / 1000

export const generateHelp = `Usage: tabswarm generate <model dir> "<prompt>" [options]
       tabswarm generate <model dir> --batch <prompts.txt> [options]

Generates text on the swarm from a Hugging Face model directory (config.json, model.safetensors
or model.safetensors.index.json and its files, tokenizer.json): GPT-2 and Llama-family
decoders with f16 or f32 weights. The weights are uploaded once (files the relay already
holds are skipped); contributors' tabs run the layers, and every token is verified before it
is printed. Tokens stream to stdout as they are accepted; stderr says what the job costs and
waits for.

Options:
  --max-tokens <n>     most tokens to generate (default ${DEFAULT_MAX_NEW_TOKENS})
  --temperature <t>    sample at this temperature (any sampling flag turns sampling on;
                       without them decoding is greedy)
  --top-k <k>          sample among the k likeliest tokens
  --top-p <p>          sample among the likeliest tokens whose probabilities sum to p
  --seed <n>           sampling seed, to replay a generation (default: a random one, printed)
  --stages <n>         split the layers over n contributors (default: as their memory allows)
  --batch <file>       one prompt a line, generated together in batch mode (each task runs
                       whole prompts through the whole model); prints every generation
  --replication <n>    contributors that must agree on each stage (default: 2 while they
                       are new, then 1 with spot checks)
  --spot-check <f>     fraction of stages the relay recomputes on its CPU; with only one
                       tab or worker online use --replication 1 --spot-check 1
  --save-ref <file>    write the uploaded model's reference (JSON) there, for the dashboard's
                       prompt box or client.generate(ref, ...)
${jobFlagsHelp(DEFAULT_TIMEOUT_SECONDS)}
${clientFlagsHelp}
  --json               print one JSON result at the end (and nothing while it runs)
  -h, --help           show this help

BF16 checkpoints must be converted to float16 first, and each weights file must fit in one
relay blob (256 MiB at most): save_pretrained(dir, max_shard_size='200MB') does both with
torch_dtype='float16'. Ctrl-C cancels the job and says what was refunded.`

/** `tabswarm generate MODEL_DIR "prompt"`: tokens streamed to stdout; resolves with the exit code. */
export async function generateCommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...clientFlags,
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      seed: { type: 'string' },
      stages: { type: 'string' },
      batch: { type: 'string' },
      'save-ref': { type: 'string' },
      replication: { type: 'string' },
      'spot-check': { type: 'string' },
      budget: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  })
  const batchFile = values.batch
  if (batchFile != null ? positionals.length !== 1 : positionals.length !== 2)
    throw new UsageError(
      batchFile != null
        ? 'generate --batch takes the model directory alone: tabswarm generate ./gpt2 --batch prompts.txt'
        : 'generate takes a model directory and a prompt: tabswarm generate ./gpt2 "Once upon a time"',
    )
  const [dir, prompt] = positionals as [string, string | undefined]
  const sampling = samplingFromFlags(values)
  const stages = stagesFlag(values.stages)
  if (batchFile != null && stages != null)
    throw new UsageError(
      '--stages splits a pipeline; --batch runs whole prompts per task: choose one',
    )
  const budget = budgetFlag(values.budget)
  const verification = verificationFromFlags(values)
  const options: GenerateOptions = {
    ...(verification != null ? { verification } : {}),
    maxNewTokens: maxTokensFlag(values['max-tokens'], DEFAULT_MAX_NEW_TOKENS),
    sampling,
    ...(stages != null ? { stages } : {}),
    ...(budget != null ? { budget } : {}),
    timeoutMs: timeoutMsFlag(values.timeout, DEFAULT_TIMEOUT_SECONDS),
    signal,
  }
  const prompts =
    batchFile != null
      ? batchPrompts(
          await readFile(batchFile, 'utf8').catch((err: Error) => {
            throw new UsageError(`cannot read --batch ${batchFile}: ${err.message}`)
          }),
          batchFile,
        )
      : [prompt!]

  const quiet = values.json
  const say = (line: string) => {
    if (!quiet) process.stderr.write(`${line}\n`)
  }
  const client = clientFromFlags(values)
  const model = await uploadModelDirectory(client, dir, {
    signal,
    onFile: ({ name, bytes, index, count, skipped }) =>
      say(
        `${skipped ? 'already on the relay' : 'uploaded'}: ${name} (${(bytes / 2 ** 20).toFixed(1)} MiB, ${index + 1}/${count})`,
      ),
  })
  if (values['save-ref'] != null)
    await writeFile(values['save-ref'], `${JSON.stringify(model.ref, null, 2)}\n`)
  if (sampling.mode === 'sample' && values.seed == null)
    say(`sampling with --seed ${sampling.seed}`)

  let job: JobView | undefined
  let waitingShown: string | undefined
  let streaming = false
  options.onProgress = (next) => {
    if (job == null)
      say(
        `job ${next.id}: ${model.ref.name ?? 'model'}, ${model.ref.config.layers} layers; ${describeCredits(next)}`,
      )
    job = next
    // What it waits for, until tokens flow (a line then would break the text).
    const waiting = describeWaiting(next)
    if (!streaming && waiting && waiting !== waitingShown) say(`waiting: ${waiting}`)
    waitingShown = waiting
  }
  const started = performance.now()

  if (batchFile != null) {
    const generations = await client.generateBatch(model, prompts, options)
    const seconds = (performance.now() - started) / 1000
    if (quiet) {
      process.stdout.write(
        `${JSON.stringify({ job: job?.id, model: model.ref, sampling, seconds, generations })}\n`,
      )
      return ExitCode.OK
    }
    for (const g of generations)
      process.stdout.write(
        `--- ${g.index + 1}/${generations.length} (${g.finish ?? 'unfinished'})\n${g.prompt}${g.text}\n`,
      )
    say(
      `${plural(generations.length, 'prompt')} in ${seconds.toFixed(1)} s${job ? ` (job ${job.id})` : ''}`,
    )
    return ExitCode.OK
  }

  const ids: number[] = []
  let text = ''
  let firstTokenMs: number | undefined
  try {
    for await (const token of client.generate(model, prompt!, options)) {
      firstTokenMs ??= performance.now() - started
      streaming = true
      ids.push(token.id)
      text += token.text
      if (!quiet) process.stdout.write(token.text)
    }
  } finally {
    if (streaming && !quiet) process.stdout.write('\n')
  }
  const seconds = (performance.now() - started) / 1000
  if (quiet) {
    process.stdout.write(
      `${JSON.stringify({ job: job?.id, model: model.ref, prompt, sampling, text, tokens: ids, seconds, ...(firstTokenMs != null ? { firstTokenSeconds: firstTokenMs / 1000 } : {}) })}\n`,
    )
    return ExitCode.OK
  }
  say(
    `${plural(ids.length, 'token')} in ${seconds.toFixed(1)} s${firstTokenMs != null ? ` (first after ${(firstTokenMs / 1000).toFixed(1)} s)` : ''}${job ? `; job ${job.id}` : ''}`,
  )
  return ExitCode.OK
}
