import { getAddress, isAddress } from 'viem'

/** The query parameter a site's widget opens the page with: `/?site=0x…`. */
export const SITE_PARAM = 'site'

/** A site address as given (a query parameter, the widget's `site` attribute), checked. */
export type ParsedSite = { site: `0x${string}` | undefined; error?: string }

/**
 * The site a contributor joined through, from the page's query: its checksummed address, or
 * none. A malformed one is not silently dropped: `error` says what was wrong, and the
 * page joins without a site (the credit is the contributor's alone) and shows it.
 *
 * @example
 * siteFromQuery('?site=0xabc') // { site: undefined, error: 'the site address "0xabc" is not …' }
 */
export function siteFromQuery(search: string): ParsedSite {
  return parseSiteAddress(new URLSearchParams(search).get(SITE_PARAM))
}

/**
 * A site address from wherever it was written (`?site=`, the widget's `site` attribute):
 * checksummed, none when empty, or none and an `error` saying what was wrong with it.
 */
export function parseSiteAddress(raw: string | null | undefined): ParsedSite {
  if (raw == null || raw === '') return { site: undefined }
  if (!isAddress(raw, { strict: false }))
    return {
      site: undefined,
      error: `the site address "${raw}" is not a 0x-prefixed 20-byte address; contributing without a site (tell the site that sent you here)`,
    }
  if (BigInt(raw) === 0n)
    return {
      site: undefined,
      error: 'the site address is the zero address; contributing without a site',
    }
  return { site: getAddress(raw) }
}
