import { describe, expect, it } from 'vitest'
import { parseSiteAddress, siteFromQuery } from './site-param.ts'

describe('siteFromQuery: the ?site= a widget opens the page with', () => {
  it('takes a valid address, checksummed, whatever its case', () => {
    expect(siteFromQuery('?site=0x70997970c51812dc3a010c7d01b50e0d17dc79c8&autostart')).toEqual({
      site: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    })
  })

  it('joins without a site when there is none', () => {
    expect(siteFromQuery('?autostart')).toEqual({ site: undefined })
    expect(siteFromQuery('?site=')).toEqual({ site: undefined })
  })

  it.each([
    ['?site=0x1234', /"0x1234" is not a 0x-prefixed 20-byte address; contributing without a site/],
    ['?site=example.com', /"example.com" is not/],
    [`?site=0x${'0'.repeat(40)}`, /zero address/],
  ])('refuses %s, saying why, and joins without a site', (search, error) => {
    const parsed = siteFromQuery(search)
    expect(parsed.site).toBeUndefined()
    expect(parsed.error).toMatch(error)
  })
})

describe('parseSiteAddress: the site attribute of the widget', () => {
  it('checks the attribute as the page checks ?site=', () => {
    expect(parseSiteAddress(' 0x70997970c51812dc3a010c7d01b50e0d17dc79c8'.trim())).toEqual({
      site: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    })
    expect(parseSiteAddress(null)).toEqual({ site: undefined })
    expect(parseSiteAddress('0x12').error).toMatch(/"0x12" is not a 0x-prefixed 20-byte address/)
  })
})
