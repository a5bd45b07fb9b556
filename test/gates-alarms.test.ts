/**
 * Alarms from a real Alertmanager (DESIGN.md "Gates", StarlingX's "no alarms" precondition): a
 * firing alert that is not ignored holds the run at the hop's preflight or before a component's
 * roll, shown as what it waits for; resolving or silencing it lets the run go on; one that fires
 * past the deadline fails the run, which rolls back. One Alertmanager serves the file, each test
 * with alerts of its own names.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Alertmanager, alertmanagerMissing, startAlertmanager } from "./support/alertmanager.js";
import { allAt, gate, reached, release, withProduct } from "./support/fake-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";

const missing = alertmanagerMissing();
if (missing && process.env.CI === "true") throw new Error(`CI=true and ${missing}`);
const options = missing ? { skip: missing } : {};

describe("alarms from Alertmanager", options, () => {
  let am: Alertmanager;
  before(async () => {
    am = await startAlertmanager();
  });
  after(async () => {
    await am?.stop();
  });

  const alarms = (more = "") =>
    `alarms: { alertmanager: "${am.url}", ignore: [Watchdog], interval: 100ms${more} }`;

  it("a firing alert holds the preflight; the ignored one does not; resolving it lets the run go on", async () => {
    const high = { alertname: "HighLoad", instance: "h1" };
    await am.fire(high);
    await am.fire({ alertname: "Watchdog" });
    await withProduct({ hosts: 2, extra: alarms() }, async (p, c) => {
      // A check does not wait for an alert: it reports it, refused.
      const checked = await ferryAsync(["check", ...c, "--to", "1.0.1"]);
      assert.equal(checked.code, 3, checked.stdout + checked.stderr);
      assert.match(checked.stdout + checked.stderr, /alarm would hold the run: firing: HighLoad \(h1\)/);

      const applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
      await applying.waitFor(/waiting for alarm at 1\.0\.1\/preflight\/alarms: firing: HighLoad \(h1\)$/m);
      const s = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
      assert.equal(s.run.waiting.for, "alarm");
      assert.equal(s.run.waiting.detail, "firing: HighLoad (h1)", "Watchdog is ignored");
      assert.ok(allAt(p, "1.0.0"));

      await am.resolve(high);
      const r = await applying.done;
      assert.equal(r.code, 0, applying.output());
      assert.match(
        applying.output(),
        /no longer waiting for alarm at 1\.0\.1\/preflight\/alarms \(\d+s\): no alert fires/,
      );
      assert.ok(allAt(p, "1.0.1"));
    });
  });

  it("an alert that fires after the preflight holds the next component's roll until it is silenced", async () => {
    await withProduct(
      {
        hosts: 1,
        components: [{ name: "db" }, { name: "api", order: 2 }],
        extra: `${alarms()}\nhooks: { after: { preflight: '${gate("after-preflight")}' } }`,
      },
      async (p, c) => {
        const applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
        await reached(p, "after-preflight");
        await am.fire({ alertname: "DiskFull", instance: "h1" });
        release(p, "after-preflight");
        await applying.waitFor(/waiting for alarm at 1\.0\.1\/roll\/db\/alarms: firing: DiskFull \(h1\)/);
        await am.silence("DiskFull");
        const r = await applying.done;
        assert.equal(r.code, 0, applying.output());
        assert.match(
          applying.output(),
          /no longer waiting for alarm at 1\.0\.1\/roll\/db\/alarms .*no alert fires/,
        );
        assert.ok(allAt(p, "1.0.1"));
      },
    );
  });

  it("an alert that fires past the deadline fails the run, which rolls back", async () => {
    await withProduct(
      { hosts: 1, extra: `${alarms(", deadline: 1s")}\nhooks: { after: { preflight: '${gate("pre")}' } }` },
      async (p, c) => {
        const applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
        await reached(p, "pre");
        await am.fire({ alertname: "NodeDown", instance: "h1" });
        release(p, "pre");
        const r = await applying.done;
        assert.equal(r.code, 1, applying.output());
        assert.match(applying.output(), /waited 1s for alarm \(firing: NodeDown \(h1\)\), its deadline/);
        assert.match(applying.output(), /Rolled back: fake is back at 1\.0\.0/);
        assert.ok(allAt(p, "1.0.0"));
        await am.resolve({ alertname: "NodeDown", instance: "h1" });
      },
    );
  });
});
