import {
  type FinishReason,
  type InferenceOutput,
  InferenceOutputSchema,
  type JobView,
  type TokensEvent,
  TokensEventSchema,
} from '@tabswarm/protocol'
import { ApiRequestError, JobFailedError, RelayResponseError } from '../client/client-errors.ts'
import { pauseBeforeReconnect } from '../client/event-stream-reconnect.ts'
import type { Transport } from '../client/http-transport.ts'
import type { JobStreamOptions } from '../client/job-handle.ts'
import { readServerSentEvents } from '../client/server-sent-events.ts'
import {
  BLOB_TRANSFER_TIMEOUT_MS,
  EVENT_STREAM_IDLE_TIMEOUT_MS,
  EVENT_STREAM_RECONNECT_MS,
  MAX_EVENT_STREAM_RETRIES,
} from '../constants.ts'

/** New tokens of one sequence, each given once, in order. */
export interface SequenceTokens {
  /** Index of the prompt in the job's `prompts`. */
  sequence: number
  /** Token ids not given before. */
  tokens: number[]
  /** Set on the sequence's last batch: why it stopped. */
  finish?: FinishReason
}

export interface FollowTokensOptions {
  /** How many sequences (prompts) the job generates. */
  sequences: number
  signal?: AbortSignal | undefined
  /** Told each state of the job (progress, what it waits for, its end). */
  onProgress?: ((job: JobView) => void) | undefined
  stream?: JobStreamOptions | undefined
}

const STATE_EVENTS = new Set(['progress', 'completed', 'failed', 'cancelled'])

/**
 * An inference job's tokens as they are accepted: the SSE `tokens` events of
 * `GET /v1/jobs/:id/events`, reopened when the stream drops or goes silent, every token
 * given exactly once. Each event says where its tokens start (`from`), so a repeat after a
 * reconnection is cut to what is new; tokens accepted while no stream was open (a gap) are
 * read from `GET /v1/jobs/:id/output` (at once, or when the job completes if the relay
 * serves the output only then). Ends once every sequence has finished; throws
 * `JobFailedError` when the job fails or is cancelled first.
 */
export async function* followTokens(
  transport: Transport,
  jobId: string,
  options: FollowTokensOptions,
): AsyncGenerator<SequenceTokens> {
  const { sequences, signal, onProgress } = options
  const idleTimeoutMs = options.stream?.idleTimeoutMs ?? EVENT_STREAM_IDLE_TIMEOUT_MS
  const reconnectDelayMs = options.stream?.reconnectDelayMs ?? EVENT_STREAM_RECONNECT_MS
  const maxRetries = options.stream?.maxRetries ?? MAX_EVENT_STREAM_RETRIES
  const path = `/jobs/${encodeURIComponent(jobId)}`
  /** Tokens given so far, per sequence. */
  const given = new Array<number>(sequences).fill(0)
  const finished = new Set<number>()
  /** Sequences with a gap the output could not fill yet: filled when the job completes. */
  const gapped = new Set<number>()
  let lastId: string | undefined
  let failures = 0

  /** What the output holds past what was given, for `wanted` sequences. */
  async function* fromOutput(wanted: Iterable<number>): AsyncGenerator<SequenceTokens> {
    const output = await readInferenceOutput(transport, jobId, sequences, signal)
    for (const sequence of wanted) {
      const stored = output.sequences[sequence]!
      const tokens = stored.tokens.slice(given[sequence])
      given[sequence] = stored.tokens.length
      if (stored.finish != null) finished.add(sequence)
      gapped.delete(sequence)
      if (tokens.length > 0 || stored.finish != null)
        yield { sequence, tokens, ...(stored.finish != null ? { finish: stored.finish } : {}) }
    }
  }

  for (;;) {
    let delivered = false
    let problem: unknown
    try {
      const response = await transport.request(`${path}/events`, {
        signal,
        timeoutMs: null,
        headers: {
          accept: 'text/event-stream',
          ...(lastId != null ? { 'last-event-id': lastId } : {}),
        },
      })
      if (response.body == null) throw new RelayResponseError('the job event stream has no body')
      for await (const raw of readServerSentEvents(response.body, { idleTimeoutMs, signal })) {
        if (raw.id != null) lastId = raw.id
        delivered = true
        failures = 0
        if (raw.event === 'tokens') {
          const event = parseTokensEvent(raw.data)
          const { sequence, from } = event
          if (sequence >= sequences)
            throw new RelayResponseError(
              `the job event stream sent tokens of sequence ${sequence}; the job has ${sequences}`,
            )
          if (finished.has(sequence) || gapped.has(sequence)) continue
          if (from > given[sequence]!) {
            // Tokens were accepted while no stream was open: the output has them.
            try {
              yield* fromOutput([sequence])
            } catch (err) {
              if (!(err instanceof ApiRequestError && err.status === 409)) throw err
              gapped.add(sequence)
            }
            if (finished.size === sequences) return
            continue
          }
          const tokens = event.tokens.slice(given[sequence]! - from)
          given[sequence] = from + event.tokens.length
          if (event.finish != null) finished.add(sequence)
          if (tokens.length > 0 || event.finish != null)
            yield { sequence, tokens, ...(event.finish != null ? { finish: event.finish } : {}) }
          if (finished.size === sequences) return
        } else if (STATE_EVENTS.has(raw.event)) {
          const job = parseStateEvent(raw.data, raw.event)
          onProgress?.(job)
          if (job.status === 'running') continue
          if (job.status !== 'completed') throw new JobFailedError(jobId, job.status, job.error)
          const unfinished = [...Array(sequences).keys()].filter((s) => !finished.has(s))
          if (unfinished.length > 0) yield* fromOutput(unfinished)
          return
        }
      }
    } catch (err) {
      if (signal?.aborted) throw signal.reason
      if (
        err instanceof ApiRequestError ||
        err instanceof RelayResponseError ||
        err instanceof JobFailedError
      )
        throw err
      problem = err
    }
    failures = await pauseBeforeReconnect(
      failures,
      { problem, delivered },
      { base: transport.base, reconnectDelayMs, maxRetries, signal },
    )
  }
}

/**
 * `GET /v1/jobs/:id/output` of an inference job, checked: one sequence per prompt, in order.
 *
 * @throws {RelayResponseError} when the answer is not an `InferenceOutput` of `sequences`.
 */
export async function readInferenceOutput(
  transport: Transport,
  jobId: string,
  sequences: number,
  signal: AbortSignal | undefined,
): Promise<InferenceOutput> {
  const answer = await transport.json<unknown>(`/jobs/${encodeURIComponent(jobId)}/output`, {
    signal,
    timeoutMs: BLOB_TRANSFER_TIMEOUT_MS,
  })
  const parsed = InferenceOutputSchema.safeParse(answer)
  if (!parsed.success)
    throw new RelayResponseError(
      `the relay's output of job ${jobId} is not an inference output: ${parsed.error.issues[0]?.message}`,
    )
  const output = parsed.data
  if (
    output.sequences.length !== sequences ||
    output.sequences.some((sequence, i) => sequence.index !== i)
  )
    throw new RelayResponseError(
      `the relay's output of job ${jobId} holds ${output.sequences.length} sequences, not the ${sequences} prompts in order`,
    )
  return output
}

function parseJson(data: string, event: string): unknown {
  try {
    return JSON.parse(data)
  } catch {
    throw new RelayResponseError(`the job event stream sent a ${event} event that is not JSON`)
  }
}

function parseTokensEvent(data: string): TokensEvent {
  const parsed = TokensEventSchema.safeParse(parseJson(data, 'tokens'))
  if (!parsed.success)
    throw new RelayResponseError(
      `the job event stream sent a malformed tokens event: ${parsed.error.issues[0]?.message}`,
    )
  return parsed.data
}

function parseStateEvent(data: string, event: string): JobView {
  const job = (parseJson(data, event) as { job?: JobView })?.job
  if (job == null || typeof job.status !== 'string')
    throw new RelayResponseError(`the job event stream sent a ${event} event without a job`)
  return job
}
