/** Basis points in a whole: a share of 10000 bps is everything. */
export const BPS = 10_000

/**
 * How one payout is split between the contributor and the site it earned it through: the
 * site gets `floor(amount × bps / 10000)`, the contributor the rest, so the two always add
 * up to `amount` exactly and any rounding favours the one who did the work (10% of 7 is 0
 * for the site, 7 for the contributor). No site: everything to the contributor.
 */
export function siteShareOf(
  amount: bigint,
  bps: number,
  site: string | undefined,
): { site: bigint; contributor: bigint } {
  if (!Number.isInteger(bps) || bps < 0 || bps > BPS)
    throw new RangeError(`a site share is 0..${BPS} basis points, got ${bps}`)
  if (amount < 0n) throw new RangeError(`a payout is not negative, got ${amount}`)
  const share = site == null ? 0n : (amount * BigInt(bps)) / BigInt(BPS)
  return { site: share, contributor: amount - share }
}
