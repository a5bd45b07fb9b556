/**
 * Notifications through bin/ferry, to real webhook receivers on loopback: what a receiver gets
 * (the body's fields, Slack's `text`, the headers, one Idempotency-Key per event and receiver),
 * `events:` filters, secrets that stay out of the journal and the output, and receivers that are
 * down or hang: the run neither fails nor waits for them, ferry gives up on them within its exit
 * budget, and the next command delivers what was left. Bad `notify` settings are exit 2 on their line.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { forEachDialect, makeDatabase } from "./support/databases.js";
import { allAt, until, withProduct } from "./support/fake-product.js";
import { ferryAsync, startFerry } from "./support/run-ferry-async.js";
import { serveCluster } from "./support/serve.js";
import { refusedPort, startReceiver } from "./support/webhook-receiver.js";

const SECRET = "s3cret-hook-token-5c1b";

/** Every file under `dir` (the journal, its WAL, the run logs), as one text. */
function everything(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .map((f) => readFileSync(f).toString("latin1"))
    .join("\n");
}

const notify = (entries: readonly string[]) => `notify:\n${entries.map((e) => `  - ${e}`).join("\n")}`;

describe("notifications", () => {
  it("each receiver gets its events once by key, with the body's fields, Slack text and its headers; no secret is kept or shown", async () => {
    const all = await startReceiver();
    const doneOnly = await startReceiver();
    try {
      await withProduct(
        {
          hosts: 2,
          releases: ["1.0.0", "1.0.1"],
          extra: notify([
            `{ webhook: "${all.url}", headers: { Authorization: "Bearer \${env:HOOK_TOKEN}", X-Team: ops } }`,
            `{ webhook: "${doneOnly.url}", events: [done] }`,
          ]),
        },
        async (p, c) => {
          const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], {
            HOOK_TOKEN: SECRET,
            FERRY_USER: "alice",
          });
          assert.equal(r.code, 0, r.stdout + r.stderr);
          assert.doesNotMatch(r.stderr, /notify/);
          const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);

          assert.deepEqual([...all.byKey().values()], ["started", "done"]);
          assert.equal(all.received.length, 2, "each sent once");
          assert.deepEqual([...doneOnly.byKey().values()], ["done"]);
          const keys = [...all.byKey().keys(), ...doneOnly.byKey().keys()];
          assert.equal(new Set(keys).size, 3, "a key per event and receiver");

          const [started, done] = all.received;
          for (const got of all.received) {
            assert.equal(got.headers.authorization, `Bearer ${SECRET}`);
            assert.equal(got.headers["x-team"], "ops");
            assert.equal(got.headers["content-type"], "application/json");
            assert.equal(got.headers["x-ferry-event"], got.event);
            assert.match(got.key, /^ferry-[0-9a-f-]{36}$/);
          }
          assert.equal(doneOnly.received[0]?.headers.authorization, undefined);
          const fields = ["event", "run", "cluster", "hop", "step", "host", "who", "message", "text"];
          for (const f of fields) assert.ok(f in (done?.body ?? {}), `the body has ${f}`);
          assert.deepEqual(
            [
              started?.body.run,
              started?.body.cluster,
              started?.body.hop,
              started?.body.who,
              started?.body.step,
            ],
            [run.id, "fake", "1.0.0 → 1.0.1", "alice", null],
          );
          assert.equal(started?.body.text, `ferry: *fake* 1.0.0 → 1.0.1 started by alice (run ${run.id})`);
          assert.equal(done?.body.message, "fake runs 1.0.1");
          assert.equal(done?.body.text, `ferry: *fake* 1.0.0 → 1.0.1 done: fake runs 1.0.1 (run ${run.id})`);
          assert.deepEqual(doneOnly.received[0]?.body, done?.body);

          // The token reached the receiver, and nothing else: not the journal, the logs, the output.
          for (const text of [r.stdout, r.stderr, everything(join(p.dir, "state"))])
            assert.ok(!text.includes(SECRET));
        },
      );
    } finally {
      await all.close();
      await doneOnly.close();
    }
  });

  it("a failure names its step and host; a pause names who asked; the next events follow", async () => {
    const rx = await startReceiver();
    try {
      // h2's new release never starts; onFailure: pause leaves the run for a person.
      const start = `test "{{host}}-$(cat {{vars.root}}/{{host}}/{{component}}/current/VERSION)" != h2-1.0.1 && cat {{vars.root}}/{{host}}/{{component}}/current/VERSION > {{vars.root}}/{{host}}/{{component}}/running`;
      await withProduct(
        {
          hosts: 2,
          releases: ["1.0.0", "1.0.1"],
          commands: { start },
          extra: `onFailure: pause\n${notify([`{ webhook: "${rx.url}" }`])}`,
        },
        async (p, c) => {
          const failed = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
          assert.equal(failed.code, 1, failed.stdout + failed.stderr);
          const back = await ferryAsync(["rollback", ...c, "--yes"], { FERRY_USER: "bob" });
          assert.equal(back.code, 0, back.stdout + back.stderr);
          assert.ok(allAt(p, "1.0.0"));
          assert.deepEqual([...rx.byKey().values()], ["started", "failed", "rolled-back"]);
          const [, f, rolled] = rx.received;
          assert.equal(f?.body.step, "1.0.1/roll/api/h2/start");
          assert.equal(f?.body.host, "h2");
          assert.match(String(f?.body.message), /1\.0\.1\/roll\/api\/h2\/start failed: .*onFailure: pause/);
          assert.match(
            String(f?.body.text),
            /^ferry: \*fake\* 1\.0\.0 → 1\.0\.1 failed at 1\.0\.1\/roll\/api\/h2\/start on h2: /,
          );
          assert.equal(rolled?.body.who, "bob");
          assert.match(String(rolled?.body.message), /Rolled back: fake is back at 1\.0\.0/);
        },
      );

      rx.received.length = 0;
      await withProduct(
        {
          hosts: 2,
          releases: ["1.0.0", "1.0.1"],
          // The roll waits in its hook until the test lets it go, so the pause lands mid-run.
          extra: `hooks: { before: { roll: 'touch {{vars.root}}/in-hook; while [ ! -f {{vars.root}}/go ]; do sleep 0.05; done' } }\n${notify([`{ webhook: "${rx.url}" }`])}`,
        },
        async (p, c) => {
          const applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"], { FERRY_USER: "alice" });
          await until(join(p.dir, "hosts/in-hook"));
          const asked = await ferryAsync(["pause", ...c], { FERRY_USER: "carol" });
          assert.equal(asked.code, 0, asked.stderr);
          // Let the step go once the run has seen the pause, so that no step starts after it.
          await applying.waitFor(/pause requested by carol/);
          writeFileSync(join(p.dir, "hosts/go"), "");
          const paused = await applying.done;
          assert.equal(paused.code, 130, paused.stdout + paused.stderr);
          const resumed = await ferryAsync(["resume", ...c, "--yes"], { FERRY_USER: "dave" });
          assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
          assert.deepEqual([...rx.byKey().values()], ["started", "paused", "done"]);
          assert.deepEqual(
            rx.received.map((r) => r.body.who),
            ["alice", "carol", "dave"],
          );
          assert.match(String(rx.received[1]?.body.message), /Paused at the request of carol/);
        },
      );
    } finally {
      await rx.close();
    }
  });

  it("a receiver that hangs: the run ends done without it, ferry gives up within its budget, the next command delivers", async () => {
    const rx = await startReceiver("hang");
    try {
      await withProduct(
        { hosts: 2, releases: ["1.0.0", "1.0.1"], extra: notify([`{ webhook: "${rx.url}" }`]) },
        async (p, c) => {
          const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
          assert.equal(r.code, 0, r.stdout + r.stderr);
          assert.ok(allAt(p, "1.0.1"));
          const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
          assert.equal(run.status, "done");
          // The receiver never answered anything, yet the run went to its end: it never waited for one.
          assert.ok(rx.received.length >= 1);
          assert.ok(rx.received.every((x) => x.answered === null));
          // ferry exited while the receiver still held its request: it closed it, giving up.
          await rx.untilLetGo();
          assert.equal(rx.hung.closedByClient, rx.hung.held);
          assert.match(
            r.stderr,
            /notify: 2 events for http:\/\/127\.0\.0\.1:\d+\/hook not delivered \(given up: ferry was exiting\); the next apply, resume or rollback sends them/,
          );

          rx.mode = "ok";
          const again = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
          assert.equal(again.code, 0, again.stderr);
          assert.match(again.stdout, /runs 1\.0\.1 already; nothing to do/);
          assert.doesNotMatch(again.stderr, /not delivered/);
          // The event sent before may arrive twice, under one key: the receiver counts it once.
          assert.deepEqual([...rx.byKey().values()], ["started", "done"]);
          assert.deepEqual(
            rx.received.filter((x) => x.answered === 200).map((x) => x.event),
            ["started", "done"],
          );
        },
      );
    } finally {
      await rx.close();
    }
  });

  it("a receiver that is down: the run ends done, and resume delivers once it is up", async () => {
    const port = await refusedPort();
    await withProduct(
      {
        hosts: 2,
        releases: ["1.0.0", "1.0.1"],
        extra: notify([`{ webhook: "http://127.0.0.1:${port}/hook" }`]),
      },
      async (p, c) => {
        const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.ok(allAt(p, "1.0.1"));
        assert.match(r.stderr, /notify: 2 events for .* not delivered \(connection refused\)/);

        const rx = await startReceiver("ok", port);
        try {
          // Nothing left to resume; resume still delivers what is pending.
          const resumed = await ferryAsync(["resume", ...c, "--yes"]);
          assert.equal(resumed.code, 3, resumed.stderr);
          assert.match(resumed.stderr, /no unfinished run/);
          assert.deepEqual([...rx.byKey().values()], ["started", "done"]);
          assert.equal(rx.received.length, 2);
        } finally {
          await rx.close();
        }
      },
    );
  });

  it("a receiver that answers 503: told once while the run goes on, tried again with backoff under one key", async () => {
    const rx = await startReceiver(503);
    try {
      await withProduct(
        {
          hosts: 2,
          releases: ["1.0.0", "1.0.1"],
          // The roll waits until the receiver has been tried twice: the second try comes after a
          // backoff, once ferry has taken in the first answer.
          extra: `hooks: { before: { roll: 'while [ ! -f {{vars.root}}/go ]; do sleep 0.05; done' } }\n${notify([`{ webhook: "${rx.url}" }`])}`,
        },
        async (p, c) => {
          const applying = startFerry(["apply", ...c, "--to", "1.0.1", "--yes"]);
          await rx.until(2);
          writeFileSync(join(p.dir, "hosts/go"), "");
          const r = await applying.done;
          assert.equal(r.code, 0, r.stdout + r.stderr);
          const told = r.stdout.match(
            /notify: http:\/\/127\.0\.0\.1:\d+\/hook: HTTP 503: nope; ferry tries again/g,
          );
          assert.equal(told?.length, 1, r.stdout);
          assert.match(r.stderr, /notify: 2 events for .* not delivered \(HTTP 503: nope\)/);
          assert.deepEqual([...rx.byKey().values()], ["started"], "done waits behind started");
          assert.ok(
            rx.received.length >= 3,
            "tried during the run, again after a backoff, once more at exit",
          );
        },
      );
    } finally {
      await rx.close();
    }
  });

  it("a header's variable that is not set: the run goes on, the event waits for a command that has it", async () => {
    const rx = await startReceiver();
    try {
      await withProduct(
        {
          hosts: 1,
          releases: ["1.0.0", "1.0.1"],
          extra: notify([
            `{ webhook: "${rx.url}", headers: { Authorization: "Bearer \${env:HOOK_TOKEN}" } }`,
          ]),
        },
        async (_p, c) => {
          assert.equal(process.env.HOOK_TOKEN, undefined, "the test runs without HOOK_TOKEN");
          const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stderr, /HOOK_TOKEN is not set, so events for http:\/\/127\.0\.0\.1:\d+\/hook wait/);
          assert.equal(rx.received.length, 0);
          const later = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"], { HOOK_TOKEN: SECRET });
          assert.equal(later.code, 0, later.stderr);
          assert.deepEqual([...rx.byKey().values()], ["started", "done"]);
          assert.equal(rx.received[0]?.headers.authorization, `Bearer ${SECRET}`);
        },
      );
    } finally {
      await rx.close();
    }
  });
});

describe("notifications from ferry serve", () => {
  it("a run started through the API is notified as a run of the CLI is", async () => {
    const rx = await startReceiver();
    try {
      await withProduct(
        { hosts: 2, releases: ["1.0.0", "1.0.1"], extra: notify([`{ webhook: "${rx.url}" }`]) },
        async (p, c) => {
          const served = await serveCluster(c, { FERRY_TOKEN: "t0ken-for-tests", FERRY_USER: "erin" });
          try {
            const r = await fetch(`${served.url}api/runs`, {
              method: "POST",
              headers: { Authorization: "Bearer t0ken-for-tests", "Content-Type": "application/json" },
              body: JSON.stringify({ to: "1.0.1" }),
            });
            assert.equal(r.status, 202, await r.text());
            await rx.until(2);
            assert.deepEqual([...rx.byKey().values()], ["started", "done"]);
            assert.equal(rx.received[0]?.body.who, "erin");
            assert.ok(allAt(p, "1.0.1"));
          } finally {
            await served.stop();
          }
        },
      );
    } finally {
      await rx.close();
    }
  });
});

await forEachDialect(["postgres"], () => {
  it("on a PostgreSQL journal: a receiver down during the run gets each event once the next command runs", async () => {
    const db = await makeDatabase("postgres");
    const port = await refusedPort();
    try {
      await withProduct(
        {
          hosts: 2,
          releases: ["1.0.0", "1.0.1"],
          extra: notify([`{ webhook: "http://127.0.0.1:${port}/hook" }`]),
        },
        async (p, c) => {
          const text = readFileSync(p.clusterFile, "utf8");
          writeFileSync(
            p.clusterFile,
            text.replace("state: state/ferry.db", `state: "${db.url}?schema=ferry_state"`),
          );
          const r = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
          assert.equal(r.code, 0, r.stdout + r.stderr);
          assert.match(r.stderr, /2 events for .* not delivered \(connection refused\)/);
          const rx = await startReceiver("ok", port);
          try {
            const again = await ferryAsync(["apply", ...c, "--to", "1.0.1", "--yes"]);
            assert.equal(again.code, 0, again.stdout + again.stderr);
            assert.deepEqual(
              rx.received.map((x) => x.event),
              ["started", "done"],
            );
          } finally {
            await rx.close();
          }
          const rows = await db.query(
            "SELECT n.event, d.state, d.attempts, d.key FROM ferry_state.deliveries d JOIN ferry_state.notices n USING (run_id, seq) ORDER BY d.ord",
          );
          // started was tried while the run went on and at its exit, then sent; done waited its turn behind it.
          assert.deepEqual(
            rows.map((row) => [
              row.event,
              row.state,
              row.event === "started" ? Number(row.attempts) >= 3 : row.attempts,
            ]),
            [
              ["started", "delivered", true],
              ["done", "delivered", 1],
            ],
          );
          assert.deepEqual(
            rows.map((row) => row.key),
            [...new Set(rows.map((row) => row.key))],
          );
        },
      );
    } finally {
      await db.drop();
    }
  });
});

describe("bad notify settings", () => {
  for (const [what, entry, expected] of [
    [
      "an unknown event",
      "{ webhook: https://h.example/f, events: [started, finished] }",
      /notify\[0\]\.events\[1\]: /,
    ],
    [
      "a bearer token written out",
      '{ webhook: https://h.example/f, headers: { Authorization: "Bearer abc123" } }',
      /notify\[0\]\.headers\.Authorization: a secret must not be written in the file/,
    ],
    [
      "a token in the webhook's query",
      "{ webhook: https://h.example/f?token=abc123 }",
      /notify\[0\]\.webhook: holds a password or a token/,
    ],
  ] as const) {
    it(`${what}: check and apply say so on its line (exit 2), and nothing runs`, async () => {
      await withProduct({ extra: notify([entry]) }, async (p, c) => {
        const line = readFileSync(p.clusterFile, "utf8").split("\n").indexOf(`  - ${entry}`) + 1;
        for (const args of [["check"], ["apply", "--to", "1.0.1", "--yes"]]) {
          const r = await ferryAsync([...args, ...c]);
          assert.equal(r.code, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
          assert.ok(r.stderr.includes(`${p.clusterFile}:${line}:`), r.stderr);
          assert.match(r.stderr, expected);
          assert.doesNotMatch(r.stderr, /abc123/);
        }
        assert.deepEqual(p.log(), [], "no command ran");
      });
    });
  }
});
