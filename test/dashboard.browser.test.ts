/**
 * The dashboard in a real browser: Debian's Chromium, driven by playwright-core (no browser is
 * downloaded), against `bin/ferry serve` on the fake product. The page starts an upgrade with the
 * token and the version typed in, follows it live without a reload, shows the new version in the
 * grid, and a step's log on click. A screenshot goes to test/artifacts/dashboard.png.
 *
 * Without /usr/bin/chromium the test is skipped, saying so; under CI=true that is a failure.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "./support/chromium.js";
import { makeFakeProduct } from "./support/fake-product.js";
import { ROOT } from "./support/run-ferry.js";
import { serveCluster } from "./support/serve.js";

const TOKEN = "dashboard-test-token";

describe("the dashboard in Chromium", () => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === "true") {
      it("Chromium is installed (CI requires the browser test)", () => assert.fail(`${CHROMIUM} is missing`));
    } else {
      it("starts an upgrade and follows it live", (t) =>
        t.skip(`${CHROMIUM} is missing (apt-get install chromium); CI=true makes this a failure`));
    }
    return;
  }

  it("starts an upgrade and follows it live to the end; a step's log on click", async () => {
    const p = makeFakeProduct({
      hosts: 3,
      components: [{ name: "api" }, { name: "worker", order: 2 }],
      extra: [
        "hooks: { before: { roll: 'echo rolling to {{version}}; sleep 0.5' } }",
        // The operator's own steps and a point of no return inside the roll are steps like any other.
        "pointOfNoReturn: { before: { component: worker, host: last } }",
      ].join("\n"),
      componentExtra:
        '    actions: [{ name: warm, at: after-healthy, run: "echo warm {{host}}", undo: "true" }]',
    });
    const profile = mkdtempSync(join(tmpdir(), "ferry-chromium-"));
    const served = await serveCluster(["-c", p.clusterFile], { FERRY_TOKEN: TOKEN });
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const problems: string[] = [];
      page.on("pageerror", (err) => problems.push(String(err)));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      await page.goto(served.url);
      await page.waitForSelector('#live[data-state="live"]');
      await page.waitForSelector('#grid td.cell[data-version="1.0.0"]');
      assert.equal(await page.locator("#grid td.cell").count(), 6);
      // Set on this page only: a reload would lose it.
      await page.evaluate("window.stayed = true");

      await page.fill("#target", "1.0.2");
      await page.fill("#token", TOKEN);
      await page.click("#start");
      await page.waitForSelector('[data-run-status="running"]', { timeout: 10_000 });
      // The timeline shows the hop in progress with its current phase.
      await page.waitForSelector('.phase[data-state="running"]', { timeout: 10_000 });
      // The timeline of ferry report, drawn while the run goes: a step running or done on its host's row.
      await page.waitForSelector('#gantt svg.timeline g.row[data-host="h1"] rect[data-step]', {
        timeout: 10_000,
      });
      await page.waitForSelector('[data-run-status="done"]', { timeout: 60_000 });
      // Test code has no DOM types; the page runs these as its own script.
      await page.waitForFunction(
        `[...document.querySelectorAll("#grid td.cell")].filter((c) => c.dataset.version === "1.0.2").length === 6`,
        undefined,
        { timeout: 15_000 },
      );
      assert.equal(await page.evaluate("window.stayed"), true);
      assert.match((await page.textContent("#cluster-version")) ?? "", /^1\.0\.2$/);
      assert.match((await page.textContent("#runs tbody")) ?? "", /1\.0\.0 → 1\.0\.2\s*done/);
      // A new upgrade may start once the page's status has caught up (reads share a round at most every 2 s).
      await page.waitForSelector("#start:not([disabled])", { timeout: 10_000 });
      // Once done, one bar per step that ran, as the API's run detail lists them.
      const detail = (await (await fetch(`${served.url}api/runs`)).json()) as { id: string }[];
      const steps = (
        (await (await fetch(`${served.url}api/runs/${detail[0]?.id}`)).json()) as {
          steps: { id: string; startedAt: string | null }[];
        }
      ).steps.filter((s) => s.startedAt !== null);
      await page.waitForFunction(
        `document.querySelectorAll("#gantt svg.timeline rect[data-step]").length === ${steps.length}`,
        undefined,
        { timeout: 10_000 },
      );

      await page.click('.phase[data-phase="1.0.2/roll"]');
      await page.click('[data-step="1.0.2/roll/before-hook"]');
      await page.waitForSelector("#log:not([hidden])");
      assert.equal(await page.textContent("#log-step"), "1.0.2/roll/before-hook");
      assert.match((await page.textContent("#log-output")) ?? "", /rolling to 1\.0\.2/);
      await page.click('[data-step="1.0.2/roll/worker/h3/activate"]');
      assert.match((await page.textContent("#log-meta")) ?? "", /worker on h3/);
      assert.match(
        (await page.textContent('[data-step="1.0.2/point-of-no-return"]')) ?? "",
        /1\.0\.2\/point-of-no-return/,
      );
      await page.click('[data-step="1.0.2/roll/api/h2/action/warm"]');
      assert.match(
        (await page.textContent('[data-step="1.0.2/roll/api/h2/action/warm"]')) ?? "",
        /api\/h2\/action\/warm/,
      );
      assert.match((await page.textContent("#log-output")) ?? "", /warm h2/);

      mkdirSync(join(ROOT, "test/artifacts"), { recursive: true });
      await page.screenshot({ path: join(ROOT, "test/artifacts/dashboard.png"), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      await served.stop();
      rmSync(profile, { recursive: true, force: true });
      p.cleanup();
    }
  });
});
