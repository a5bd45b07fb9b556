/**
 * Fault injection (FERRY_FAULT, src/run/faults.ts) belongs to the crash tests of the CLI's
 * apply, resume and rollback. A server, which runs upgrades inside a long-lived process, must
 * not be killed by the variable being in its environment: the library takes faults only as an
 * option. (`ferry demo` is checked the same way in test/demo.test.ts, on its own run.)
 */
import assert from "node:assert/strict";
import { it } from "node:test";
import { allAt, withProduct } from "./support/fake-product.js";
import { ferryAsync } from "./support/run-ferry-async.js";
import { readEvents, serveCluster } from "./support/serve.js";

const TOKEN = "fault-injection-test-token";

it("ferry serve ignores FERRY_FAULT: a run it starts reaches the point and goes on to the end", async () => {
  await withProduct({ hosts: 2 }, async (p, c) => {
    // The same point kills the CLI's apply there: it is one the run reaches.
    const cli = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], { FERRY_FAULT: "journal#2" });
    assert.equal(cli.signal, "SIGKILL", "the CLI's apply honours FERRY_FAULT");
    assert.equal((await ferryAsync(["rollback", ...c, "--yes"])).code, 0);

    const s = await serveCluster(c, { FERRY_TOKEN: TOKEN, FERRY_FAULT: "journal#2" });
    const events = await readEvents(s.url);
    try {
      const started = await fetch(new URL("api/runs", s.url), {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({ to: "1.0.1" }),
      });
      assert.equal(started.status, 202);
      const { runId } = (await started.json()) as { runId: string };
      await events.waitFor((e) => e.event === "run" && e.data.runId === runId && e.data.status === "done");
      assert.ok(allAt(p, "1.0.1"));
      assert.equal(s.child.exitCode, null, s.output());
      assert.equal(s.child.signalCode, null, s.output());
    } finally {
      events.close();
      await s.stop();
    }
  });
});
