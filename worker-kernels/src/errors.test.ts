import { TabswarmError } from '@tabswarm/protocol'
import { describe, expect, it } from 'vitest'
import {
  DeviceLostError,
  deserializeError,
  GpuUnavailableError,
  KernelAbortedError,
  KernelCompileError,
  KernelExecutionError,
  KernelLimitError,
  KernelShapeError,
  KernelTimeoutError,
  KernelWorkersWedgedError,
} from './errors.ts'

const subclasses = [
  [GpuUnavailableError, 'GPU_UNAVAILABLE'],
  [DeviceLostError, 'DEVICE_LOST'],
  [KernelShapeError, 'KERNEL_SHAPE'],
  [KernelLimitError, 'KERNEL_LIMIT'],
  [KernelTimeoutError, 'KERNEL_TIMEOUT'],
  [KernelAbortedError, 'KERNEL_ABORTED'],
  [KernelExecutionError, 'KERNEL_EXECUTION'],
  [KernelWorkersWedgedError, 'KERNEL_WORKERS_WEDGED'],
] as const

describe('TabswarmError', () => {
  it('keeps the short message, appends details, carries code and cause', () => {
    const cause = new Error('root')
    const err = new TabswarmError('Short.', { code: 'X', details: 'more', cause })
    expect(err.shortMessage).toBe('Short.')
    expect(err.message).toBe('Short.\n\nDetails: more')
    expect(err).toMatchObject({ code: 'X', details: 'more', cause, name: 'TabswarmError' })
  })

  it('serialises to { name, code, message } through toJSON and JSON.stringify', () => {
    const err = new KernelShapeError('a.length is wrong.')
    const wire = { name: 'KernelShapeError', code: 'KERNEL_SHAPE', message: 'a.length is wrong.' }
    expect(TabswarmError.serialize(err)).toEqual(wire)
    expect(JSON.parse(JSON.stringify(err))).toEqual(wire)
  })

  it('serialises foreign errors and thrown non-errors with code UNKNOWN', () => {
    expect(TabswarmError.serialize(new RangeError('r'))).toEqual({
      name: 'RangeError',
      code: 'UNKNOWN',
      message: 'r',
    })
    expect(TabswarmError.serialize('boom')).toEqual({
      name: 'Error',
      code: 'UNKNOWN',
      message: 'boom',
    })
  })
})

describe('subclasses', () => {
  it.each(subclasses)('%o has a literal name, a fixed code, and round-trips', (Subclass, code) => {
    const err = new Subclass('Went wrong.', { details: 'why' })
    expect(err).toBeInstanceOf(TabswarmError)
    expect(err.name).toBe(Subclass.name)
    expect(err.code).toBe(code)
    const back = deserializeError(JSON.parse(JSON.stringify(err)))
    expect(back).toBeInstanceOf(Subclass)
    expect(back).toMatchObject({ name: err.name, code, message: err.message })
  })
})

describe('deserializeError', () => {
  it('keeps the name and code of errors from packages it does not know', () => {
    const back = deserializeError({
      name: 'LeaseExpiredError',
      code: 'LEASE_EXPIRED',
      message: 'm',
    })
    expect(back).toBeInstanceOf(TabswarmError)
    expect(back).toMatchObject({ name: 'LeaseExpiredError', code: 'LEASE_EXPIRED', message: 'm' })
  })

  it("rebuilds what comlink's default handler delivers: an Error with name and code set", () => {
    const delivered = Object.assign(new Error('Too big.'), {
      name: 'KernelLimitError',
      code: 'KERNEL_LIMIT',
    })
    expect(deserializeError(delivered)).toBeInstanceOf(KernelLimitError)
  })

  it('returns Tabswarm errors as they are and wraps anything else', () => {
    const err = new DeviceLostError('gone')
    expect(deserializeError(err)).toBe(err)
    const wrapped = deserializeError(new TypeError('t'))
    expect(wrapped).toMatchObject({ name: 'TypeError', code: 'UNKNOWN', message: 't' })
    expect(wrapped.cause).toBeInstanceOf(TypeError)
  })
})

describe('KernelCompileError', () => {
  const messages = [
    { type: 'error' as const, message: "unresolved identifier 'z'", line: 4, column: 10 },
    { type: 'warning' as const, message: 'unused variable', line: 2, column: 7 },
  ]

  it('lists every compiler message as line:column in its message', () => {
    const err = new KernelCompileError('WGSL failed to compile.', { messages })
    expect(err).toMatchObject({ name: 'KernelCompileError', code: 'KERNEL_COMPILE', messages })
    expect(err.message).toBe(
      "WGSL failed to compile.\n\nDetails: 4:10: error: unresolved identifier 'z'\n2:7: warning: unused variable",
    )
  })

  it('survives JSON and deserializeError with its messages', () => {
    const wire = JSON.parse(JSON.stringify(new KernelCompileError('Bad.', { messages })))
    expect(wire).toEqual({
      name: 'KernelCompileError',
      code: 'KERNEL_COMPILE',
      message: 'Bad.',
      data: { messages },
    })
    const back = deserializeError(wire)
    expect(back).toBeInstanceOf(KernelCompileError)
    expect((back as KernelCompileError).messages).toEqual(messages)
    expect(back.message).toMatch(/^Bad\.\n\nDetails: 4:10: error/)
  })

  it('drops malformed messages from an untrusted peer instead of trusting them', () => {
    const back = deserializeError({
      name: 'KernelCompileError',
      code: 'KERNEL_COMPILE',
      message: 'Bad.',
      data: { messages: [{ type: 'error', message: 'x', line: '4' }, messages[0]] },
    }) as KernelCompileError
    expect(back.messages).toEqual([messages[0]])
  })
})
