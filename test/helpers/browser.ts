import { type Browser, chromium } from 'playwright-core';

/**
 * Debian's Chromium (never a downloaded browser), headless, with the background services that would
 * try to reach the network switched off (this machine has none).
 */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      ...extraArgs,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
