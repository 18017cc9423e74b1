// Test helper for everything that looks at a page: Debian's headless Chromium through
// playwright-core. One rule for every such test: when Chromium is missing, the test (or, inside a
// longer test, the browser step) is skipped with the install command as the reason. `.ci/run`
// installs Chromium, so CI never skips.
import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

export const CHROMIUM_PATH = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p))

const REASON = 'Chromium is not installed: apt-get install -y chromium (.ci/run does this)'

/** For `test(name, { skip: browserSkip }, ...)`. */
export const browserSkip: string | false = CHROMIUM_PATH === undefined ? REASON : false

export async function launchChromium(): Promise<Browser> {
  if (CHROMIUM_PATH === undefined) throw new Error(REASON)
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}

/** A browser step inside a longer test: runs `fn` with a browser, or notes the skip when Chromium is missing. */
export async function withBrowser(t: { diagnostic(message: string): void }, fn: (browser: Browser) => Promise<void>): Promise<void> {
  if (CHROMIUM_PATH === undefined) {
    t.diagnostic(`browser checks skipped: ${REASON}`)
    return
  }
  const browser = await launchChromium()
  try {
    await fn(browser)
  } finally {
    await browser.close()
  }
}
