import { describe, expect, it } from 'vitest'
import {
  DeviceLostError,
  deserializeError,
  GpuUnavailableError,
  KernelAbortedError,
  KernelExecutionError,
  KernelLimitError,
  KernelShapeError,
  KernelTimeoutError,
  TabswarmError,
} from './errors.ts'

const subclasses = [
  [GpuUnavailableError, 'GPU_UNAVAILABLE'],
  [DeviceLostError, 'DEVICE_LOST'],
  [KernelShapeError, 'KERNEL_SHAPE'],
  [KernelLimitError, 'KERNEL_LIMIT'],
  [KernelTimeoutError, 'KERNEL_TIMEOUT'],
  [KernelAbortedError, 'KERNEL_ABORTED'],
  [KernelExecutionError, 'KERNEL_EXECUTION'],
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
