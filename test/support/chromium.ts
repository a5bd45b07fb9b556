/**
 * Debian's Chromium for the browser tests, the report benchmark and the README's screenshot,
 * driven by playwright-core (no browser is downloaded). The flags keep it off the network this
 * machine does not have, and out of the sandbox root cannot use.
 */
import { chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** A browser with no profile kept. */
export function launchChromium(): ReturnType<typeof chromium.launch> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}
