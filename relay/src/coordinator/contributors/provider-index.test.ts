import { describe, expect, it } from 'vitest'
import { createProviderIndex } from './provider-index.ts'

const h = (c: string) => c.repeat(64)

describe('the provider index', () => {
  it('names holders of a hash, most recent announcement first, never the requester', () => {
    const index = createProviderIndex()
    index.announce('p1', [h('a'), h('b')])
    index.announce('p2', [h('a')])
    index.announce('p3', [h('a')])
    expect(index.providers(h('a'), { exclude: 'x', limit: 8 })).toEqual(['p3', 'p2', 'p1'])
    expect(index.providers(h('a'), { exclude: 'p2', limit: 8 })).toEqual(['p3', 'p1'])
    expect(index.providers(h('a'), { exclude: 'x', limit: 2 })).toEqual(['p3', 'p2'])
    // Announcing again makes p1 the most recent holder.
    index.announce('p1', [h('a')])
    expect(index.providers(h('a'), { exclude: 'x', limit: 1 })).toEqual(['p1'])
    expect(index.providers(h('c'), { exclude: 'x', limit: 8 })).toEqual([])
  })

  it('replaces a peer’s announcement, forgets a peer that left, and asks `accept` about each', () => {
    const index = createProviderIndex()
    index.announce('p1', [h('a'), h('b')])
    index.announce('p1', [h('b')])
    expect(index.providers(h('a'), { exclude: 'x', limit: 8 })).toEqual([])
    expect(index.providers(h('b'), { exclude: 'x', limit: 8 })).toEqual(['p1'])
    index.announce('p2', [h('b')])
    expect(index.providers(h('b'), { exclude: 'x', limit: 8, accept: (p) => p !== 'p2' })).toEqual([
      'p1',
    ])
    index.forget('p1')
    expect(index.providers(h('b'), { exclude: 'x', limit: 8 })).toEqual(['p2'])
    index.announce('p2', [])
    expect(index.entries).toBe(0)
  })

  it('caps what one peer announces, the holders of one hash and the entries in all', () => {
    const index = createProviderIndex({ maxPerPeer: 2, maxPerHash: 2, maxEntries: 5 })
    index.announce('p1', [h('a'), h('b'), h('c')])
    // Newest first: the first two are kept.
    expect(index.providers(h('c'), { exclude: 'x', limit: 8 })).toEqual([])
    expect(index.entries).toBe(2)
    index.announce('p2', [h('a')])
    index.announce('p3', [h('a')])
    // Two holders of `a` at most: the stalest (p1) gave way.
    expect(index.providers(h('a'), { exclude: 'x', limit: 8 })).toEqual(['p3', 'p2'])
    index.announce('p4', [h('d'), h('e')])
    expect(index.entries).toBe(5)
    index.announce('p5', [h('f')])
    expect(index.entries).toBe(5)
    expect(index.providers(h('f'), { exclude: 'x', limit: 8 })).toEqual([])
    // Forgetting p1 after it gave way counts only what it still held.
    index.forget('p1')
    expect(index.entries).toBe(4)
  })

  it('records what a serving peer fetched for a task ahead of its announcement; ignores peers that serve none', () => {
    const index = createProviderIndex()
    // p1 serves (it announced, an empty cache); p2 never announced (a headless worker).
    index.announce('p1', [])
    expect(index.serves('p1')).toBe(true)
    expect(index.serves('p2')).toBe(false)
    index.provide('p1', [h('a'), h('b')])
    index.provide('p2', [h('a')])
    expect(index.providers(h('a'), { exclude: 'x', limit: 8 })).toEqual(['p1'])
    index.announce('p3', [h('c')])
    index.provide('p1', [h('c')])
    // p1's newest is first among its own, and it is now c's most recent holder.
    expect(index.providers(h('c'), { exclude: 'x', limit: 8 })).toEqual(['p1', 'p3'])
    expect(index.providers(h('b'), { exclude: 'x', limit: 8 })).toEqual(['p1'])
    index.forget('p1')
    expect(index.serves('p1')).toBe(false)
    expect(index.providers(h('a'), { exclude: 'x', limit: 8 })).toEqual([])
  })
})
