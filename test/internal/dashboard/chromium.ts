// Test helper: launches Debian's headless Chromium through playwright-core, or says why it cannot.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM_PATH = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

export async function launchChromium(): Promise<Browser> {
  if (CHROMIUM_PATH === undefined) throw new Error('Chromium is not installed: apt-get install -y chromium (.ci/run does this)')
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}
