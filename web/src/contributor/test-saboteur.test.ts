import { describe, expect, it } from 'vitest'
import { saboteurForPage } from './test-saboteur.ts'

const query = (text: string) => new URLSearchParams(text)

describe('saboteurForPage', () => {
  it('is honest unless the test hooks and the saboteur are both asked for', () => {
    expect(saboteurForPage(query(''), 'tabswarm-test')).toBeUndefined()
    expect(saboteurForPage(query('saboteur=activations'), 'tabswarm-test')).toBeUndefined()
    expect(saboteurForPage(query('tabswarm-test&saboteur=activations'), 'tabswarm-test')).toBe(
      'activations',
    )
  })

  it('refuses a saboteur it does not know', () => {
    expect(() => saboteurForPage(query('tabswarm-test&saboteur=logits'), 'tabswarm-test')).toThrow(
      /unknown saboteur "logits"/,
    )
  })
})
