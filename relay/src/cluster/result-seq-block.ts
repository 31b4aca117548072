import type pg from 'pg'

/** Seqs in one block: a coordinator numbers up to this many results before it needs another. */
export const RESULT_SEQ_BLOCK = 2 ** 32

/**
 * The first seq of a fresh block of result seqs for this coordinator alone. Blocks come
 * from one database sequence, so every block is above every block handed out before it:
 * seqs stay unique across the cluster, and a coordinator that takes over a job whose
 * results came from a newer block than its own takes a fresh block to number above them.
 * (2^21 blocks of 2^32 stay below 2^53: every seq is an exact JavaScript number.)
 */
export async function reserveResultSeqBlock(pool: pg.Pool, signal?: AbortSignal): Promise<number> {
  signal?.throwIfAborted()
  const { rows } = await pool.query<{ n: string }>("SELECT nextval('result_seq_blocks')::text AS n")
  const n = Number(rows[0]?.n)
  if (!Number.isSafeInteger(n) || n < 1)
    throw new Error(
      `result_seq_blocks gave ${rows[0]?.n}: the cluster's result numbering is broken`,
    )
  return n * RESULT_SEQ_BLOCK
}
