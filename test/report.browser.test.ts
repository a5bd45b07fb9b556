/**
 * `ferry report` in a real browser: Debian's Chromium through playwright-core, the page opened from
 * its file with every request outside it refused (the report must stand alone). The timeline is
 * checked against the journal itself: one bar per step that ran, on its host's row, left to right
 * in the order the steps started, hop boundaries where the hops' first steps started, a failed step
 * marked on its host's row. Screenshots go to test/artifacts/ (git-ignored).
 *
 * Without /usr/bin/chromium the test is skipped, saying so; under CI=true that is a failure.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import type { Plan } from "../src/plan/plan.js";
import { planSteps } from "../src/plan/plan.js";
import { openStateStore } from "../src/store/open-store.js";
import type { RunRecord, StepRecord } from "../src/store/state-store.js";
import { CHROMIUM, CHROMIUM_ARGS } from "./support/chromium.js";
import { type FakeProduct, makeFakeProduct } from "./support/fake-product.js";
import { ferry, ROOT } from "./support/run-ferry.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const ARTIFACTS = join(ROOT, "test", "artifacts");

interface Journal {
  readonly run: RunRecord;
  readonly steps: StepRecord[];
  /** step id → its host in the plan, or "this machine". */
  readonly hostOf: Map<string, string>;
  /** step id → its hop's id. */
  readonly hopOf: Map<string, string>;
}

async function journal(p: FakeProduct): Promise<Journal> {
  const store = await openStateStore("state/ferry.db", p.dir);
  try {
    const id = (await store.listRuns("fake"))[0]?.id ?? "";
    const run = (await store.getRun(id)) as RunRecord;
    const hostOf = new Map<string, string>();
    const hopOf = new Map<string, string>();
    for (const { hop, step } of planSteps(run.plan as Plan)) {
      hostOf.set(step.id, step.host ?? "this machine");
      hopOf.set(step.id, hop.id);
    }
    return { run, steps: await store.steps(id), hostOf, hopOf };
  } finally {
    await store.close();
  }
}

interface Drawn {
  readonly step: string;
  readonly host: string;
  readonly state: string;
  readonly failed: boolean;
  readonly x: number;
  /** The host whose row the bar sits in, by the rows' labels on screen. */
  readonly row: string;
}

/** Every bar as drawn, with the row it sits in read from the labels' positions on screen. */
async function bars(page: Page): Promise<Drawn[]> {
  // A string, run in the page: the test's TypeScript knows no DOM.
  return page.evaluate(`(() => {
    const STATES = ["pending", "running", "done", "failed", "undoing", "undone"];
    const labels = [...document.querySelectorAll("svg.timeline text.host")].map((l) => ({
      host: l.textContent,
      top: l.getBoundingClientRect().top,
    }));
    return [...document.querySelectorAll("svg.timeline rect[data-step]")].map((r) => {
      const box = r.getBoundingClientRect();
      // A row's first lane holds its label; lanes below it belong to it until the next label.
      const row = labels.filter((l) => l.top <= box.top + 2).pop();
      const classes = [...r.classList];
      return {
        step: r.getAttribute("data-step"),
        host: r.closest("g.row").getAttribute("data-host"),
        state: classes.find((c) => STATES.includes(c)),
        failed: classes.includes("failed"),
        x: box.left,
        row: row ? row.host : "",
      };
    });
  })()`);
}

/** Opens a local file with nothing else allowed: a request beyond it fails the test. */
async function open(browser: BrowserContext, file: string, outside: string[]): Promise<Page> {
  const page = await browser.newPage();
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url === `file://${file}`) return route.continue();
    outside.push(url);
    return route.abort();
  });
  await page.goto(`file://${file}`);
  return page;
}

describe("ferry report in Chromium", () => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === "true") {
      it("Chromium is installed (CI requires the browser test)", () => assert.fail(`${CHROMIUM} is missing`));
    } else {
      it("draws a run's timeline", (t) =>
        t.skip(`${CHROMIUM} is missing (apt-get install chromium); CI=true makes this a failure`));
    }
    return;
  }

  let browser: BrowserContext;
  let profile: string;
  before(async () => {
    profile = mkdtempSync(join(tmpdir(), "ferry-chromium-"));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1400, height: 900 },
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
  });

  it("a finished run: one bar per step that ran, on its host's row, in the order they started, hops where they began", async () => {
    const p = makeFakeProduct({
      hosts: 3,
      components: [{ name: "api" }, { name: "worker", order: 2 }],
      extra: "pointOfNoReturn: { before: { component: worker, host: last } }",
    });
    try {
      const c = ["-c", p.clusterFile];
      const applied = ferry(["apply", ...c, "--to", "1.1.0", "--yes"]);
      assert.equal(applied.code, 0, applied.stderr);
      const file = join(p.dir, "report.html");
      const made = ferry(["report", ...c, "--out", file]);
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stdout, /wrote .*report\.html: run \S+ \(1\.0\.0 → 1\.1\.0, done\)/);

      const j = await journal(p);
      const ran = j.steps.filter((s) => s.startedAt !== null);
      assert.ok(ran.length > 50, `a three-hop run of six members runs many steps (${ran.length})`);

      const outside: string[] = [];
      const page = await open(browser, file, outside);
      const drawn = await bars(page);
      assert.deepEqual(
        drawn.map((d) => d.step).sort(),
        ran.map((s) => s.id).sort(),
        "one bar per step that ran, and none for a step that did not",
      );
      for (const d of drawn) {
        assert.equal(d.host, j.hostOf.get(d.step), `${d.step} is on its host's row`);
        assert.equal(d.row, d.host, `${d.step} is drawn within ${d.host}'s row`);
        assert.equal(d.state, "done");
        assert.equal(d.failed, false);
      }
      // Left to right as they started: a step that started later is never drawn further left.
      const start = new Map(ran.map((s) => [s.id, s.startedAt as number]));
      const byStart = [...drawn].sort((a, b) => (start.get(a.step) ?? 0) - (start.get(b.step) ?? 0));
      for (let i = 1; i < byStart.length; i++) {
        const [a, b] = [byStart[i - 1] as Drawn, byStart[i] as Drawn];
        if ((start.get(a.step) ?? 0) < (start.get(b.step) ?? 0)) {
          assert.ok(a.x <= b.x + 0.01, `${a.step} started before ${b.step} and is drawn left of it`);
        }
      }

      // Each hop's boundary at its first step's start; every hop passed its point of no return.
      const hops = await page.$$eval("svg.timeline line.hop", (ls) =>
        ls.map((l) => [l.getAttribute("data-hop"), Number(l.getAttribute("data-at"))] as const),
      );
      assert.deepEqual(
        hops.map(([h]) => h),
        ["1.0.1", "1.0.2", "1.1.0"],
      );
      for (const [hop, at] of hops) {
        const first = Math.min(
          ...ran.filter((s) => j.hopOf.get(s.id) === hop).map((s) => s.startedAt as number),
        );
        assert.equal(at, first, `hop ${hop} begins where its first step started`);
      }
      assert.equal(await page.locator("svg.timeline line.ponr").count(), 3);

      // The facts, and a table of the same data for screen readers.
      const facts = await page.locator("dl.facts").innerText();
      assert.match(facts, /path\s+1\.0\.0 → 1\.0\.1 → 1\.0\.2 → 1\.1\.0/);
      assert.match(facts, /result\s+done/);
      assert.equal(await page.locator("table.steps tbody tr").count(), ran.length);
      // Each of the six members was out of service once per hop, and came back.
      assert.equal(await page.locator("table.out-of-service tbody tr").count(), 18);
      assert.equal(await page.locator("table.out-of-service td", { hasText: "not back" }).count(), 0);

      assert.deepEqual(outside, [], "the report asks for nothing beyond its own file");
      const shot = await page.screenshot({ path: join(ARTIFACTS, "report.png"), fullPage: true });
      const blank = await (await browser.newPage()).screenshot({ fullPage: true });
      assert.ok(shot.length > blank.length * 4, "the screenshot is not blank");
      await page.close();
    } finally {
      p.cleanup();
    }
  });

  it("a failed run: the failed step marked on its host's row, its output shown, the undone steps still drawn", async () => {
    const p = makeFakeProduct({
      hosts: 3,
      commands: {
        start:
          'if [ {{host}} = h2 ] && [ {{version}} = 1.0.1 ]; then echo "h2 refuses {{version}}" >&2; exit 4; fi; cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running',
      },
    });
    try {
      const c = ["-c", p.clusterFile];
      const applied = ferry(["apply", ...c, "--to", "1.0.1", "--yes"]);
      assert.equal(applied.code, 1, applied.stderr);
      const file = join(p.dir, "failed.html");
      assert.equal(ferry(["report", ...c, "--out", file]).code, 0);
      // A place that cannot be written is bad input, named by its flag, and nothing is left there.
      const nowhere = ferry(["report", ...c, "--out", join(p.dir, "missing", "r.html")]);
      assert.equal(nowhere.code, 2, nowhere.stderr);
      assert.match(nowhere.stderr, /--out \S+missing\/r\.html: cannot write it: its folder does not exist/);
      assert.equal(existsSync(join(p.dir, "missing")), false);
      const j = await journal(p);
      // Undone by the rollback, it keeps the error that turned the run back.
      const failed = j.steps.find((s) => s.error !== null);
      assert.ok(failed, "the journal has the failed step");
      assert.equal(failed.id, "1.0.1/roll/api/h2/start");

      const page = await open(browser, file, []);
      const drawn = await bars(page);
      const mark = drawn.filter((d) => d.failed);
      assert.deepEqual(
        mark.map((d) => [d.step, d.row]),
        [[failed.id, "h2"]],
        "the failed step, and only it, is marked failed on h2's row",
      );
      assert.ok(
        drawn.some((d) => d.state === "undone"),
        "steps undone by the rollback are drawn",
      );
      // Each undone step is drawn over its own run and ticked where it was undone, later.
      const undone = j.steps.filter((s) => s.state === "undone");
      assert.ok(undone.length >= 4);
      for (const s of undone) {
        assert.ok(
          s.endedAt !== null && s.undoneAt !== null && s.endedAt <= s.undoneAt,
          `${s.id} keeps both ends`,
        );
      }
      assert.equal(await page.locator("svg.timeline path.undo").count(), undone.length);
      // h2 and h1 came back by the rollback: out of service until their stops were undone.
      const back = await page.locator("table.out-of-service tbody tr").allInnerTexts();
      assert.equal(back.length, 2);
      for (const row of back) assert.match(row, /\(undone\)/);
      assert.equal(await page.locator("svg.timeline text.failed-label").textContent(), "failed: start");
      const section = await page.locator("section.failure").innerText();
      assert.match(section, new RegExp(`Failed: ${failed.id.replaceAll(".", "\\.")} on h2`));
      assert.match(section, /h2 refuses 1\.0\.1/, "the failed step's output tail is shown");
      assert.match(await page.locator("dl.facts").innerText(), /result\s+rolled-back/);
      await page.screenshot({ path: join(ARTIFACTS, "report-failed.png"), fullPage: true });
      await page.close();
    } finally {
      p.cleanup();
    }
  });

  it("ferry demo --report: the load's charts sum to the demo's own totals, the hops shaded where they began", {
    timeout: 240_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ferry-demo-report-"));
    try {
      const file = join(dir, "demo.html");
      const demo = await ferryAsync(["demo", "--json", "--report", file]);
      assert.equal(demo.code, 0, demo.stderr);
      const json = JSON.parse(demo.stdout) as {
        path: string[];
        requests: { sent: number; failed: number };
        jobs: { completed: number };
      };
      const outside: string[] = [];
      const page = await open(browser, file, outside);
      await page.waitForFunction("window.loadCharts !== undefined");
      const charts = (await page.evaluate(`(() => {
        const { rate, latency, hops } = window.loadCharts;
        const sum = (xs) => xs.reduce((a, b) => a + b, 0);
        return { requests: sum(rate.data[1]), failed: sum(rate.data[2]), jobs: sum(rate.data[3]), seconds: rate.data[0].length, latencyPoints: latency.data[1].length, hops };
      })()`)) as {
        requests: number;
        failed: number;
        jobs: number;
        seconds: number;
        latencyPoints: number;
        hops: { label: string; start: number }[];
      };
      assert.equal(charts.requests, json.requests.sent, "requests a second sum to the report's requests");
      assert.equal(charts.failed, json.requests.failed);
      assert.ok(charts.jobs > 0 && charts.jobs <= json.jobs.completed);
      assert.equal(charts.latencyPoints, charts.seconds);
      // One band per hop, named as the path goes, each starting where the timeline (read from the
      // journal) says its hop began.
      const pairs = json.path.slice(1).map((to, i) => `${json.path[i]} → ${to}`);
      assert.deepEqual(
        charts.hops.map((h) => h.label),
        pairs,
      );
      const began = await page.$$eval("svg.timeline line.hop", (ls) =>
        ls.map((l) => Number(l.getAttribute("data-at"))),
      );
      assert.deepEqual(
        charts.hops.map((h) => Math.round(h.start * 1000)),
        began,
      );
      assert.ok((await page.locator("#load-rate canvas").count()) > 0, "the chart is drawn");
      assert.deepEqual(outside, [], "the report asks for nothing beyond its own file");
      await page.screenshot({ path: join(ARTIFACTS, "demo-report.png"), fullPage: false });
      await page.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--run names a run that is not in the journal: exit 2, nothing written", () => {
    const p = makeFakeProduct();
    try {
      const none = ferry(["report", "-c", p.clusterFile, "--out", join(p.dir, "r.html")]);
      assert.equal(none.code, 3, none.stderr);
      assert.match(none.stderr, /fake has no run in its journal yet/);
      const wrong = ferry(["report", "-c", p.clusterFile, "--run", "nope", "--out", join(p.dir, "r.html")]);
      assert.equal(wrong.code, 2, wrong.stderr);
      assert.match(wrong.stderr, /--run nope: no such run of fake/);
      assert.equal(existsSync(join(p.dir, "r.html")), false);
    } finally {
      p.cleanup();
    }
  });
});
