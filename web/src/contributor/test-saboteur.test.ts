import { describe, expect, it } from 'vitest'
import { stagesForPage } from './test-saboteur.ts'

const honest = () => {
  throw new Error('not called here')
}
const query = (text: string) => new URLSearchParams(text)

describe('stagesForPage', () => {
  it('runs the honest factory unless the test hooks and the saboteur are both asked for', () => {
    expect(stagesForPage(honest, query(''), 'tabswarm-test')).toBe(honest)
    expect(stagesForPage(honest, query('saboteur=activations'), 'tabswarm-test')).toBe(honest)
    const saboteur = stagesForPage(
      honest,
      query('tabswarm-test&saboteur=activations'),
      'tabswarm-test',
    )
    expect(saboteur).toBeTypeOf('function')
    expect(saboteur).not.toBe(honest)
    expect(
      stagesForPage(undefined, query('tabswarm-test&saboteur=activations'), 'tabswarm-test'),
    ).toBeUndefined()
  })

  it('refuses a saboteur it does not know', () => {
    expect(() =>
      stagesForPage(honest, query('tabswarm-test&saboteur=logits'), 'tabswarm-test'),
    ).toThrow(/unknown saboteur "logits"/)
  })
})
