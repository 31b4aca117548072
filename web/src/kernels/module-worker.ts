/**
 * Starts a module worker from `url`, even when `url` is on another origin than the page: a
 * browser refuses `new Worker(url)` across origins, so the widget (served by the relay, running
 * on a site's page) starts a same-origin `blob:` module that imports the script instead. That
 * import is an ordinary CORS module fetch (the relay serves its assets with
 * `Access-Control-Allow-Origin: *`), and the script's own imports resolve against its real URL.
 */
export function startModuleWorker(url: string | URL, name: string): Worker {
  const script = new URL(url, globalThis.location?.href)
  if (globalThis.location == null || script.origin === globalThis.location.origin)
    return new Worker(script, { type: 'module', name })
  const trampoline = URL.createObjectURL(
    new Blob([`import ${JSON.stringify(script.href)}\n`], { type: 'text/javascript' }),
  )
  try {
    return new Worker(trampoline, { type: 'module', name })
  } finally {
    // The worker has its own reference to the blob's content once constructed.
    setTimeout(() => URL.revokeObjectURL(trampoline), 60_000)
  }
}
