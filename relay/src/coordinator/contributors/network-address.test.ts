import { describe, expect, it } from 'vitest'
import { isLoopbackIp, networkKey } from './network-address.ts'

describe('networkKey', () => {
  it('keeps IPv4, unwraps IPv4-mapped IPv6, and groups IPv6 by /64', () => {
    expect(networkKey('203.0.113.7')).toBe('203.0.113.7')
    expect(networkKey('::ffff:203.0.113.7')).toBe('203.0.113.7')
    expect(networkKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(networkKey('2001:0DB8:0001:0002:ffff:1:2:3')).toBe('2001:db8:1:2::/64')
    expect(networkKey('[2001:db8::5]')).toBe('2001:db8:0:0::/64')
    expect(networkKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64')
  })

  it('unwraps an IPv4-mapped address in hex, as multiaddr writes it, and drops leading zeros', () => {
    expect(networkKey('::ffff:c633:6401')).toBe('198.51.100.1')
    expect(networkKey('0:0:0:0:0:ffff:198.51.100.1')).toBe('198.51.100.1')
    expect(networkKey('2001:0db8:0001:0002::1')).toBe(networkKey('2001:db8:1:2::9'))
  })

  it('knows loopback in every spelling, and nothing else', () => {
    for (const ip of ['127.0.0.1', '127.9.9.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:7f00:1', '[::1]'])
      expect(isLoopbackIp(ip), ip).toBe(true)
    for (const ip of ['128.0.0.1', '::2', '::', '2001:db8::1', '::ffff:c633:6401', 'localhost'])
      expect(isLoopbackIp(ip), ip).toBe(false)
  })
})
