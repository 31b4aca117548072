import { BLOB_PROTOCOL, encodeLengthPrefix, MAX_BLOB_HEADER_BYTES } from '@tabswarm/protocol'
import type { Browser } from 'playwright'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium } from '../support/chromium.ts'
import { type InProcessRelay, startInProcessRelay } from '../support/in-process-relay.ts'
import { openSwarmTab, putRandomBlob, type SwarmTab } from '../support/swarm-tabs.ts'

/** A well-formed peer id nobody in the swarm holds: no relay reservation, no route to it. */
const OFFLINE_PEER = '12D3KooWEsVCxnRbzpEPDULTfnZZtRKR8irYV6hmndKW7mcBrXgZ'

describe('contributor tabs form a swarm through the relay', () => {
  let relay: InProcessRelay
  let browser: Browser
  const tabs: SwarmTab[] = []

  beforeAll(async () => {
    relay = await startInProcessRelay()
    browser = await launchChromium()
    for (let i = 0; i < 3; i++) tabs.push(await openSwarmTab(browser, relay.running.url))
  })

  afterAll(async () => {
    await browser?.close()
    await relay?.stop()
  })

  it('discovers each other and links over direct WebRTC, not through the relay', async () => {
    const ids = tabs.map((t) => t.peerId)
    expect(new Set(ids).size).toBe(3)
    for (const tab of tabs) {
      await tab.page.waitForFunction(
        () => globalThis.tabswarm.stats().peers.direct >= 2,
        undefined,
        {
          timeout: 60_000,
          polling: 200,
        },
      )
      const connections = await tab.page.evaluate(() => globalThis.tabswarm.connections())
      for (const other of ids.filter((id) => id !== tab.peerId)) {
        const links = connections.filter((c) => c.peerId === other && c.direct)
        expect(links.length, `${tab.peerId} has no direct link to ${other}`).toBeGreaterThan(0)
        for (const link of links) {
          expect(link.limited).toBe(false)
          expect(link.transport).toBe('webrtc')
          // The answering side sees the bare WebRTC address; the dialling side sees the
          // relay route the handshake was signalled over, ending in /webrtc.
          if (link.direction === 'inbound') expect(link.remoteAddr).toBe(`/webrtc/p2p/${other}`)
          else expect(link.remoteAddr).toMatch(new RegExp(`/p2p-circuit/webrtc/p2p/${other}$`))
        }
      }
      const stats = await tab.page.evaluate(() => globalThis.tabswarm.stats())
      expect(stats.peers.discovered).toBeGreaterThanOrEqual(1)
      expect(stats.relay.firstConnectedAtMs).toBeGreaterThan(0)
      expect(stats.peers.firstDirectAtMs).toBeGreaterThan(stats.relay.firstConnectedAtMs!)
    }
  })

  it('moves a multi-MB blob tab to tab, verified by its sha-256', async () => {
    const [a, b] = tabs as [SwarmTab, SwarmTab]
    const put = await putRandomBlob(a.page, 12 * 1024 * 1024 + 5)
    expect(put.cached).toBe(true)
    const got = await b.page.evaluate(
      ([hash, from]) => globalThis.tabswarm.fetchBlob(hash, { providers: [from], relay: false }),
      [put.hash, a.peerId] as const,
    )
    expect(got).toMatchObject({ hash: put.hash, size: put.size, source: 'peer', peerId: a.peerId })
    const [sent, received] = await Promise.all([
      a.page.evaluate(() => globalThis.tabswarm.stats().blobs),
      b.page.evaluate(() => globalThis.tabswarm.stats().blobs),
    ])
    expect(sent.bytesServed).toBeGreaterThanOrEqual(put.size)
    expect(received).toMatchObject({ fromPeers: 1, bytesFromPeers: put.size, fromRelay: 0 })
  })

  it('falls back to the relay for a blob no peer serves, and says so', async () => {
    const [a, , c] = tabs as [SwarmTab, SwarmTab, SwarmTab]
    const bytes = new Uint8Array(3 * 1024 * 1024).map((_, i) => (i * 7) & 255)
    const hash = await relay.putBlob(bytes)
    // Only the named provider is asked: the connected-peers path has a test of its own
    // below, and a WebRTC link that drops on a loaded machine would count as unreachable.
    const got = await c.page.evaluate(
      ([h, from]) =>
        globalThis.tabswarm.fetchBlob(h, { providers: [from], askConnectedPeers: false }),
      [hash, a.peerId] as const,
    )
    expect(got).toMatchObject({ hash, size: bytes.byteLength, source: 'relay' })
    expect(got.fallback).toEqual({ unreachable: [], notHeld: [a.peerId], failed: [] })
    const stats = await c.page.evaluate(() => globalThis.tabswarm.stats().blobs)
    expect(stats).toMatchObject({ relayFallbacks: 1, fallbacksNotHeld: 1, fallbacksUnreachable: 0 })
    expect(stats.bytesFromRelay).toBe(bytes.byteLength)
  })

  it('falls back to the relay when the provider cannot be reached, and says why', async () => {
    const [, b] = tabs as [SwarmTab, SwarmTab]
    const hash = await relay.putBlob(new Uint8Array(1024 * 1024).map((_, i) => (i * 11) & 255))
    const got = await b.page.evaluate(
      ([h, from]) =>
        globalThis.tabswarm.fetchBlob(h, { providers: [from], askConnectedPeers: false }),
      [hash, OFFLINE_PEER] as const,
    )
    expect(got).toMatchObject({ hash, source: 'relay' })
    expect(got.fallback).toEqual({ unreachable: [OFFLINE_PEER], notHeld: [], failed: [] })
    const stats = await b.page.evaluate(() => globalThis.tabswarm.stats().blobs)
    expect(stats).toMatchObject({ relayFallbacks: 1, fallbacksUnreachable: 1, fallbacksNotHeld: 0 })
  })

  it('reports a blob nobody holds as unavailable, having asked its connected peers', async () => {
    const [a, b, c] = tabs as [SwarmTab, SwarmTab, SwarmTab]
    const error = await b.page.evaluate(() =>
      globalThis.tabswarm.fetchBlob('0'.repeat(64)).then(
        () => 'fetched',
        (err: Error) => `${err.name}: ${err.message}`,
      ),
    )
    expect(error).toMatch(/^BlobFetchError: no source served blob 0{64}/)
    expect(error).toContain('relay: the peer does not hold blob')
    // Each source asked is named with its answer: the directly linked tabs came first.
    expect(error).toMatch(new RegExp(`${a.peerId}|${c.peerId}`))
  })

  it('closes only the stream of a malformed or oversized message; the peer keeps serving', async () => {
    const [a, b, c] = tabs as [SwarmTab, SwarmTab, SwarmTab]
    const put = await putRandomBlob(a.page, 1024 * 1024)
    const linksOf = (tab: SwarmTab, peer: string) =>
      tab.page.evaluate(
        (p) =>
          globalThis.tabswarm
            .connections()
            .filter((l) => l.peerId === p && l.direct)
            .map((l) => l.id),
        peer,
      )
    const linkBefore = await linksOf(c, a.peerId)
    expect(linkBefore).toHaveLength(1)
    // A frame that is not a header; then a length prefix announcing more than a blob header
    // may ever be, which the peer refuses before reading (over WebRTC the refusal may
    // arrive as a stream reset instead of an error message: either closes only this stream).
    const probes = [
      {
        name: 'garbage',
        bytes: [6, 0, 0, 0, 2, 0x7b, 0x7b],
        answer: /"type":"error".*"code":"MALFORMED_FRAME"/,
      },
      {
        name: 'oversized',
        bytes: [...encodeLengthPrefix(MAX_BLOB_HEADER_BYTES * 4), ...new Uint8Array(64)],
        answer: /"type":"error".*"code":"MESSAGE_TOO_LARGE"|stream has been reset/,
      },
    ]
    for (const { name, bytes, answer: expected } of probes) {
      const answer = await c.page.evaluate(
        async ([peer, protocol, raw]) => {
          const { response, error } = await globalThis.tabswarm.sendRaw!(
            peer,
            protocol,
            Uint8Array.from(raw),
          )
          return { text: new TextDecoder().decode(response), error }
        },
        [a.peerId, BLOB_PROTOCOL, bytes] as const,
      )
      expect(`${answer.text} ${answer.error}`, name).toMatch(expected)
    }
    const stats = await a.page.evaluate(() => globalThis.tabswarm.stats())
    expect(stats.protocolErrors, a.warnings.join('\n')).toBe(2)
    const logged = a.warnings.filter((w) => w.includes('blob protocol violation'))
    expect(logged).toHaveLength(2)
    expect(logged[1]).toContain('MESSAGE_TOO_LARGE')
    // The same peer, over the same connection, still serves everyone.
    for (const tab of [b, c]) {
      const got = await tab.page.evaluate(
        ([hash, from]) => globalThis.tabswarm.fetchBlob(hash, { providers: [from], relay: false }),
        [put.hash, a.peerId] as const,
      )
      expect(got.source).toBe('peer')
    }
    expect(await linksOf(c, a.peerId)).toEqual(linkBefore)

    // A tab's malformed message to the relay closes only that stream as well...
    const relayPeer = relay.running.multiaddrs[0]!.split('/p2p/')[1]!
    const [relayLink] = await linksOf(c, relayPeer)
    const violations = () => relay.log.lines.filter((l) => l.msg === 'protocol violation').length
    const before = violations()
    const relayAnswer = await c.page.evaluate(
      async ([peer, protocol, raw]) => {
        const { response } = await globalThis.tabswarm.sendRaw!(
          peer,
          protocol,
          Uint8Array.from(raw),
        )
        return new TextDecoder().decode(response)
      },
      [relayPeer, BLOB_PROTOCOL, probes[0]!.bytes] as const,
    )
    expect(relayAnswer).toMatch(/"type":"error".*"code":"MALFORMED_FRAME"/)
    expect(violations() - before).toBe(1)
    // ...and the relay keeps serving every tab, the one that sent it included.
    const onRelay = await relay.putBlob(new Uint8Array(512 * 1024).fill(5))
    for (const tab of tabs) {
      const got = await tab.page.evaluate(
        (hash) => globalThis.tabswarm.fetchBlob(hash, { askConnectedPeers: false }),
        onRelay,
      )
      expect(got).toMatchObject({ source: 'relay', peerId: relayPeer })
    }
    expect(await linksOf(c, relayPeer)).toEqual([relayLink])
    for (const tab of tabs) expect(tab.errors).toEqual([])
  })
})
