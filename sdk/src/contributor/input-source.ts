import type { InputRef } from '@tabswarm/protocol'

/** Where a task's input bytes came from. */
export type InputOrigin = 'cache' | 'peer' | 'relay'

/** One input as a source delivered it. */
export interface FetchedInput {
  /** The bytes; checked by the caller against the ref's sha-256 and length before use. */
  bytes: Uint8Array
  from: InputOrigin
  /** Sources (or peers) tried first that failed to serve it: dead, slow, lying, not holding. */
  fallbacks?: number
}

/** Budget of one input fetch. */
export interface InputFetchOptions {
  signal: AbortSignal
  /** The whole fetch, every source tried included; the task's kernel deadline bounds it. */
  timeoutMs: number
}

/**
 * Where a contributor gets the bytes of its tasks' inputs, by content address: a tab's
 * swarm (its cache, peers over direct WebRTC, the relay), a headless worker's relay blob
 * stream behind a small cache, a fake in tests. Sources are not trusted: the loop checks
 * every input against `ref.sha256` and `ref.byteLength` whatever the source, and
 * {@link fallbackInputSource} moves on from a source that fails or lies.
 *
 * @example
 * const inputs: InputSource = {
 *   fetch: async (ref, { signal }) => ({ bytes: await download(ref.sha256, signal), from: 'relay' }),
 * }
 */
export interface InputSource {
  /**
   * The bytes `ref` names. Rejects when no source it knows of serves them within the
   * budget; the task then fails with a task error reported to the relay.
   */
  fetch(ref: InputRef, options: InputFetchOptions): Promise<FetchedInput>
  /**
   * Hashes this contributor can serve to peers, most recently used first, at most
   * `MAX_HELD_BLOBS`: announced as `holds` on every lease request, an empty list included
   * (it says the contributor serves peers, so the relay names it as the provider of the
   * inputs of each task it returns). Absent for a contributor that serves no peers (a
   * headless worker): its lease requests announce nothing.
   */
  held?(): string[]
  /**
   * Keeps bytes this contributor produced, by their sha-256 (computed by the caller): a
   * decoder stage's `hidden` activations, which the next stage's contributor fetches from
   * it. A source that serves peers announces them in `held()`, newest first. Absent for
   * one that serves no peers.
   */
  keep?(sha256: string, bytes: Uint8Array): void
}
