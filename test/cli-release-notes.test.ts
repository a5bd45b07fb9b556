// biome-ignore-all lint/suspicious/noExplicitAny: JSON documents are read field by field by the assertions
/**
 * Release notes and warnings through bin/ferry (DESIGN.md "Release notes"): `path` and `plan`
 * show them on the hops they are for, a `from` range read in the catalog's order; `apply` shows
 * them first and refuses (exit 3, no run, hosts untouched) until the warnings that must be
 * accepted are, at the terminal's prompt or with --accept-warnings, never by --yes; the acceptance
 * is journaled, so `resume` after a kill -9 does not ask again; `ferry serve` keeps the same rule.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { allAt, type FakeProduct, makeFakeProduct, withProduct } from "./support/fake-product.js";
import { noPseudoTerminal, onTerminal, type Terminal, withoutEscapes } from "./support/pseudo-terminal.js";
import { ferry, ROOT } from "./support/run-ferry.js";
import { ferryAsync } from "./support/run-ferry-async.js";
import { readEvents, serveCluster } from "./support/serve.js";

/** KubeFATE's catalog, the one its procedure's example upgrades with (examples/procedures/kubefate). */
const KUBEFATE = "examples/procedures/kubefate/releases.yaml";
const CALVER = "test/fixtures/calver-warnings.yaml";
const VOLUMES =
  "Volumes a storage class provisioned are not re-attached; move their data or use a self-managed PVC first.";
const WHO = { FERRY_USER: "tom@bastion" };

/** A two-host fake product on 1.8.0 whose catalog is KubeFATE's matrix: 1.9.0 warns hops from <1.9.0. */
const onKubefate = {
  hosts: 2,
  releases: ["1.8.0", "1.9.0", "1.10.0"],
  start: "1.8.0",
  catalog: { text: readFileSync(`${ROOT}${KUBEFATE}`, "utf8") },
};

/** Nothing happened: no run in the journal, every host still on 1.8.0, no command run on any. */
async function assertUntouched(p: FakeProduct, c: string[]): Promise<void> {
  const history = await ferryAsync(["history", ...c, "--json"]);
  assert.equal(history.code, 0, history.stderr);
  assert.deepEqual(JSON.parse(history.stdout), [], "no run is recorded");
  assert.ok(allAt(p, "1.8.0"), JSON.stringify(p.state()));
  assert.deepEqual(p.log(), [], "no command ran on a host");
}

describe("ferry path: release notes and warnings", () => {
  it("shows a hop the notes and warnings of every release it enters (KubeFATE's catalog, semver)", () => {
    const r = ferry(["path", "--catalog", KUBEFATE, "--from", "1.7.2", "--to", "1.10.0"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      [
        "fate 1.7.2 → 1.10.0: 1 hop",
        "  1.7.2 → 1.10.0  series    rolling",
        "    note 1.8.0: 172-180.sql runs once the cluster is running.",
        "    note 1.9.0: Some components become StatefulSets.",
        `    warning 1.9.0 (from <1.9.0, must be accepted): ${VOLUMES}`,
        "    warning 1.9.0: A cluster on existing PVCs keeps its volumes.",
        "",
      ].join("\n"),
    );
    // A hop that does not enter 1.9.0 shows none of it.
    const after = ferry(["path", "--catalog", KUBEFATE, "--from", "1.9.0", "--to", "1.10.0"]);
    assert.equal(after.stdout, "fate 1.9.0 → 1.10.0: 1 hop\n  1.9.0 → 1.10.0  series    rolling\n");
  });

  it("--json adds notes and warnings to each hop, its other fields as they were", () => {
    const r = ferry(["path", "--catalog", KUBEFATE, "--from", "1.7.2", "--to", "1.10.0", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const { hops } = JSON.parse(r.stdout);
    assert.deepEqual(hops, [
      {
        from: "1.7.2",
        to: "1.10.0",
        kind: "series",
        mode: "rolling",
        notes: [
          { release: "1.8.0", text: "172-180.sql runs once the cluster is running." },
          { release: "1.9.0", text: "Some components become StatefulSets." },
        ],
        warnings: [
          { release: "1.9.0", from: "<1.9.0", text: VOLUMES, acknowledge: true },
          { release: "1.9.0", text: "A cluster on existing PVCs keeps its volumes.", acknowledge: false },
        ],
      },
    ]);
    const after = ferry(["path", "--catalog", KUBEFATE, "--from", "1.9.0", "--to", "1.10.0", "--json"]);
    const [hop] = JSON.parse(after.stdout).hops;
    assert.deepEqual([hop.notes, hop.warnings], [[], []]);
  });

  it("reads a calver range by the catalog's order: 23.09.9 is before 23.09.10", () => {
    const r = ferry(["path", "--catalog", CALVER, "--from", "23.09.8", "--to", "24.03.0", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const shown = JSON.parse(r.stdout).hops.map((h: any) => [
      `${h.from} → ${h.to}`,
      h.warnings.map((w: any) => w.from),
    ]);
    assert.deepEqual(shown, [
      ["23.09.8 → 23.09.9", []],
      ["23.09.9 → 23.09.10", ["<23.09.10"]],
      ["23.09.10 → 24.03.0", ["~23.09"]],
    ]);
    const text = ferry(["path", "--catalog", CALVER, "--from", "23.09.9", "--to", "24.03.0"]);
    assert.match(text.stdout, /23\.09\.9 {2}→ 23\.09\.10 .*\n {4}warning 23\.09\.10 \(from <23\.09\.10\): /);
    assert.doesNotMatch(text.stdout, /Never shown/);
  });

  it("a range that is not one is exit 2, naming the file, line and field, and nothing is printed", () => {
    const r = ferry([
      "path",
      "--catalog",
      "test/fixtures/bad-warning-range.yaml",
      "--from",
      "1.8.0",
      "--to",
      "1.9.0",
    ]);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^ferry: error: test\/fixtures\/bad-warning-range\.yaml:11:\d+: releases\[1\]\.warnings\[1\]\.from: "before 1\.9" is not a version range/,
    );
  });
});

describe("ferry plan: release notes and warnings", () => {
  it("shows them under the hop they are for, in text and in --json", async () => {
    await withProduct(onKubefate, async (_p, c) => {
      const text = await ferryAsync(["plan", ...c, "--to", "1.10.0"]);
      assert.equal(text.code, 0, text.stderr);
      const hops = text.stdout.split(/^(?=hop )/m).slice(1);
      assert.equal(hops.length, 1, text.stdout);
      assert.match(
        hops[0] ?? "",
        /^hop 1\.8\.0 → 1\.10\.0 {2}series, rolling\n {2}note 1\.9\.0: Some components/,
      );
      assert.ok(hops[0]?.includes(`  warning 1.9.0 (from <1.9.0, must be accepted): ${VOLUMES}\n`), hops[0]);

      const json = await ferryAsync(["plan", ...c, "--to", "1.10.0", "--json"]);
      const plan = JSON.parse(json.stdout);
      assert.deepEqual(
        plan.hops.map((h: any) => [h.id, h.warnings.filter((w: any) => w.acknowledge).length]),
        [["1.10.0", 1]],
      );
      const after = await ferryAsync(["plan", ...c, "--from", "1.9.0", "--to", "1.10.0"]);
      assert.equal(after.code, 0, after.stderr);
      assert.doesNotMatch(after.stdout, /note|warning/);
    });
  });
});

describe("ferry apply: warnings that must be accepted", () => {
  it("without acceptance refuses with exit 3 and changes nothing; --yes does not accept", async () => {
    await withProduct(onKubefate, async (p, c) => {
      for (const yes of [[], ["--yes"]]) {
        const r = await ferryAsync(["apply", ...c, "--to", "1.9.0", ...yes]);
        assert.equal(r.code, 3, `${yes}: ${r.stderr}`);
        assert.match(r.stdout, /^Release notes:\n {2}1\.8\.0 → 1\.9\.0\n {4}note 1\.9\.0: /, "shown first");
        assert.match(
          r.stderr,
          /^ferry: refused: the path has a release warning that must be accepted: 1\.9\.0 \(from <1\.9\.0\), for the hop 1\.8\.0 → 1\.9\.0: "Volumes .*--accept-warnings.*--yes does not accept warnings/,
        );
        await assertUntouched(p, c);
      }

      // --json: one result event naming the warnings, nothing else on stdout.
      const json = await ferryAsync(["apply", ...c, "--to", "1.9.0", "--yes", "--json"]);
      assert.equal(json.code, 3);
      const lines = json.stdout.trim().split("\n");
      assert.equal(lines.length, 1, json.stdout);
      const result = JSON.parse(lines[0] ?? "");
      assert.equal(result.type, "result");
      assert.equal(result.error.kind, "refused");
      assert.deepEqual(
        result.error.warnings.map((w: any) => [w.hop, w.release, w.acknowledge]),
        [["1.8.0 → 1.9.0", "1.9.0", true]],
      );
      await assertUntouched(p, c);
    });
  });

  it("--accept-warnings runs it and journals who accepted which warnings, when and how", async () => {
    await withProduct(onKubefate, async (p, c) => {
      const before = Date.now();
      const r = await ferryAsync(["apply", ...c, "--to", "1.9.0", "--yes", "--accept-warnings"], WHO);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(allAt(p, "1.9.0"));
      assert.ok(
        r.stdout.indexOf("Release notes:") < r.stdout.indexOf(" upgrade fake 1.8.0 → 1.9.0"),
        r.stdout,
      );

      const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.equal(run.status, "done");
      const { at, ...accepted } = run.acceptedWarnings;
      assert.deepEqual(accepted, {
        by: "tom@bastion",
        how: "flag",
        warnings: [{ hop: "1.8.0 → 1.9.0", release: "1.9.0", from: "<1.9.0", text: VOLUMES }],
      });
      assert.ok(Date.parse(at) >= before - 1000 && Date.parse(at) <= Date.now(), at);

      // A path with no warning to accept records none.
      const next = await ferryAsync(["apply", ...c, "--to", "1.10.0", "--yes", "--json"]);
      assert.equal(next.code, 0, next.stderr);
      const start = JSON.parse(next.stdout.split("\n")[0] ?? "");
      assert.deepEqual([start.type, start.hops[0].notes, start.hops[0].warnings], ["start", [], []]);
      assert.equal(
        JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout)[0].acceptedWarnings,
        null,
      );
    });
  });

  it("--json carries the notes and warnings in the start event's hops", async () => {
    await withProduct(onKubefate, async (_p, c) => {
      const r = await ferryAsync(["apply", ...c, "--to", "1.9.0", "--yes", "--accept-warnings", "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const start = JSON.parse(r.stdout.split("\n")[0] ?? "");
      assert.equal(start.type, "start");
      assert.deepEqual(start.hops[0].notes, [
        { release: "1.9.0", text: "Some components become StatefulSets." },
      ]);
      assert.deepEqual(
        start.hops[0].warnings.map((w: any) => w.acknowledge),
        [true, false],
      );
    });
  });

  it("after kill -9, resume goes on without asking again, the acceptance shown by status", async () => {
    await withProduct(onKubefate, async (p, c) => {
      const killed = await ferryAsync(["apply", ...c, "--to", "1.9.0", "--yes", "--accept-warnings"], {
        ...WHO,
        FERRY_FAULT: "1.9.0/roll/api/h2/install:started",
      });
      assert.equal(killed.signal, "SIGKILL", killed.stderr);

      const status = JSON.parse((await ferryAsync(["status", ...c, "--json"])).stdout);
      assert.equal(status.run.status, "running");
      assert.equal(status.run.acceptedWarnings.by, "tom@bastion");
      assert.deepEqual(
        status.run.acceptedWarnings.warnings.map((w: any) => w.release),
        ["1.9.0"],
      );

      // No --accept-warnings, and no terminal to ask on: it must not need either.
      const resumed = await ferryAsync(["resume", ...c, "--yes"]);
      assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
      assert.match(
        resumed.stdout,
        /release warnings of 1\.9\.0 accepted by tom@bastion at \S+ \(by flag\); not asked again/,
      );
      assert.ok(allAt(p, "1.9.0"));
      const runs = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.deepEqual(
        runs.map((r: any) => [r.status, r.acceptedWarnings?.how]),
        [["done", "flag"]],
      );
    });
  });
});

/** bin/ferry on a terminal, answered by `answer`; a failed answer ends the terminal rather than leaving it waiting. */
async function answering(
  args: readonly string[],
  answer: (term: Terminal) => Promise<void>,
): Promise<{ code: number | null; screen: string }> {
  const term = onTerminal(args, { env: WHO });
  try {
    await answer(term);
  } catch (err) {
    term.child.kill("SIGKILL");
    await term.done;
    throw err;
  }
  return term.done;
}

describe("ferry apply: the warnings' question on a terminal", { skip: noPseudoTerminal }, () => {
  it("asks it apart from the confirmation, naming each warning; yes to both runs it", async () => {
    await withProduct(onKubefate, async (p, c) => {
      const { code, screen } = await answering(["apply", ...c, "--to", "1.9.0"], async (term) => {
        await term.waitFor(
          /This warning must be accepted before the upgrade runs:[\s\S]*Accept it\? \[y\/N\] /,
        );
        assert.match(
          withoutEscapes(term.screen()),
          /1\. 1\.9\.0, for the hop 1\.8\.0 → 1\.9\.0: Volumes a storage class provisioned are not re-attached/,
        );
        assert.doesNotMatch(term.screen(), /Upgrade fake/, "the confirmation comes after");
        term.type("y");
        await term.waitFor(
          /Upgrade fake from 1\.8\.0 to 1\.9\.0 through 1\.8\.0 → 1\.9\.0 \(13 steps\)\? \[y\/N\] /,
        );
        term.type("y");
      });
      assert.equal(code, 0, screen);
      assert.ok(allAt(p, "1.9.0"));
      const [run] = JSON.parse((await ferryAsync(["history", ...c, "--json"])).stdout);
      assert.deepEqual([run.acceptedWarnings.how, run.acceptedWarnings.by], ["prompt", "tom@bastion"]);
    });
  });

  it("--yes still asks it; no is a refusal (exit 3) that changes nothing", async () => {
    await withProduct(onKubefate, async (p, c) => {
      const { code, screen } = await answering(["apply", ...c, "--to", "1.9.0", "--yes"], async (term) => {
        await term.waitFor(/Accept it\? \[y\/N\] /);
        term.type("n");
      });
      assert.equal(code, 3, screen);
      assert.match(withoutEscapes(screen), /refused: not accepted, so nothing was changed: 1\.9\.0/);
      await assertUntouched(p, c);
    });
  });
});

describe("ferry serve: a run through the API keeps the rule", () => {
  it("POST /api/runs is refused (409, the warnings listed) unless it says acceptWarnings: true", async () => {
    const p = makeFakeProduct(onKubefate);
    const c = ["-c", p.clusterFile];
    const token = randomBytes(12).toString("hex");
    const s = await serveCluster(c, { FERRY_TOKEN: token });
    const post = async (body: unknown) => {
      const r = await fetch(new URL("api/runs", s.url), {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as any };
    };
    try {
      const refused = await post({ to: "1.9.0" });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal(refused.body.rule, "release-warnings");
      assert.match(refused.body.wayOut, /"acceptWarnings": true/);
      assert.deepEqual(
        refused.body.warnings.map((w: any) => [w.release, w.from, w.text]),
        [["1.9.0", "<1.9.0", VOLUMES]],
      );
      const notBoolean = await post({ to: "1.9.0", acceptWarnings: "yes" });
      assert.equal(notBoolean.status, 400);
      assert.equal(notBoolean.body.field, "acceptWarnings");
      await assertUntouched(p, c);

      const events = await readEvents(s.url);
      try {
        const started = await post({ to: "1.9.0", acceptWarnings: true });
        assert.equal(started.status, 202, JSON.stringify(started.body));
        await events.waitFor(
          (e) => e.event === "run" && e.data.runId === started.body.runId && e.data.status === "done",
        );
      } finally {
        events.close();
      }
      assert.ok(allAt(p, "1.9.0"));
      const runs = (await (await fetch(new URL("api/runs", s.url))).json()) as any[];
      assert.equal(runs[0]?.acceptedWarnings?.how, "flag");
    } finally {
      await s.stop();
      p.cleanup();
    }
  });
});
