import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright'

/**
 * Flags that give headless Chromium a real WebGPU adapter on SwiftShader (no GPU needed)
 * and let tabs see each other's host ICE candidates on loopback.
 */
export const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--enable-unsafe-swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--enable-features=Vulkan',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

function chromiumPath(): string | undefined {
  const fromEnv = process.env.TABSWARM_CHROMIUM
  if (fromEnv) return fromEnv
  return ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))
}

/**
 * Launches the system's Chromium (Debian's package in CI); never downloads a browser.
 * `args` replaces CHROMIUM_ARGS, for a browser set up otherwise (one without WebGPU).
 */
export async function launchChromium({
  args = CHROMIUM_ARGS,
}: {
  args?: string[]
} = {}): Promise<Browser> {
  const executablePath = chromiumPath()
  if (executablePath == null) {
    throw new Error(
      'Chromium not found: install Debian\'s "chromium" package or set TABSWARM_CHROMIUM',
    )
  }
  return chromium.launch({ executablePath, args, headless: true })
}
