/**
 * The README's picture of the demo's report: runs `bin/ferry demo --report`, opens the page in
 * Debian's Chromium and saves its top as docs/images/demo-report.png. Run it after a change to the
 * report's look: `npm run screenshot`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { launchChromium } from "../test/support/chromium.js";

const ROOT = new URL("../", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "ferry-screenshot-"));
try {
  const file = join(dir, "demo.html");
  const demo = spawnSync(join(ROOT, "bin/ferry"), ["demo", "--report", file], { stdio: "inherit" });
  if (demo.status !== 0) throw new Error(`ferry demo exited ${demo.status}`);
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1150 } });
    await page.goto(`file://${file}`);
    await page.waitForFunction("window.loadCharts !== undefined");
    const out = join(ROOT, "docs/images/demo-report.png");
    await page.screenshot({ path: out });
    process.stdout.write(`wrote ${out}\n`);
  } finally {
    await browser.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
