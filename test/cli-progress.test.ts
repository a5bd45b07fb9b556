/**
 * What apply shows as it runs, through the real executable: the live tree on a terminal (a
 * pseudo-terminal), plain lines on a pipe, colour only on a terminal and never with NO_COLOR.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type FakeProduct, makeFakeProduct } from "./support/fake-product.js";
import { COLOUR, ESCAPE, noPseudoTerminal, onTerminal, withoutEscapes } from "./support/pseudo-terminal.js";
import { ferryAsync } from "./support/run-ferry-async.js";

const HOME = "{{vars.root}}/{{host}}/{{component}}";
/** worker's install on h1 says two lines, then waits until the test lets it go (a file appears). */
const INSTALL = [
  `if [ {{component}} = worker ] && [ {{host}} = h1 ]; then`,
  `echo 'fetching {{version}}'; echo 'waiting for the mirror';`,
  `while [ ! -f {{vars.root}}/go ]; do sleep 0.05; done; fi;`,
  `mkdir -p ${HOME}/versions/{{version}} && echo {{version}} > ${HOME}/versions/{{version}}/VERSION`,
].join(" ");

function product(): FakeProduct {
  return makeFakeProduct({
    hosts: 2,
    components: [
      { name: "api", order: 1 },
      { name: "worker", order: 2 },
    ],
    commands: { install: INSTALL },
  });
}

describe("progress on a terminal", { skip: noPseudoTerminal }, () => {
  it("draws hops, phases with host counts, the running step and its last output line, in colour", async () => {
    const p = product();
    try {
      const term = onTerminal(["apply", "-c", p.clusterFile, "--to", "1.0.1", "--yes"]);
      await term.waitFor(/› waiting for the mirror/);
      writeFileSync(join(p.dir, "hosts/go"), "");
      const { code, screen } = await term.done;
      assert.equal(code, 0, screen);
      const plain = withoutEscapes(screen);
      assert.match(plain, /ferry upgrade fake 1\.0\.0 → 1\.0\.1 {2}run \S+ {2}running/);
      assert.match(plain, /1\.0\.0 → 1\.0\.1 {2}patch, rolling {2}\d+\/23 steps/);
      assert.match(plain, /✓ preflight {2}1\/1 steps/);
      assert.match(plain, /roll {2}api 2\/2 hosts, worker 0\/2 hosts {2}\d+\/20 steps/);
      assert.match(plain, /1\.0\.1\/roll\/worker\/h1\/install {2}\d+\.\ds {2}› waiting for the mirror/);
      assert.match(plain, /· verify {2}0\/1 steps/, "a phase to come is one line");
      // The last frame: the hop folded into one line, every step done.
      assert.match(plain, /✓ 1\.0\.0 → 1\.0\.1 {2}patch, rolling {2}23\/23 steps/);
      assert.match(plain, /fake runs 1\.0\.1/);
      assert.match(screen, COLOUR);
    } finally {
      p.cleanup();
    }
  });

  it("with NO_COLOR still draws the tree, without a colour code", async () => {
    const p = makeFakeProduct({ hosts: 2 });
    try {
      const { code, screen } = await onTerminal(["apply", "-c", p.clusterFile, "--to", "1.0.1", "--yes"], {
        env: { NO_COLOR: "1" },
      }).done;
      assert.equal(code, 0, screen);
      assert.match(screen, /✓ 1\.0\.0 → 1\.0\.1 {2}patch, rolling {2}13\/13 steps/);
      assert.doesNotMatch(screen, COLOUR);
    } finally {
      p.cleanup();
    }
  });

  it("a failed step shows its error in the tree, and the hop rolled back", async () => {
    const p = makeFakeProduct({ hosts: 2, commands: { install: "echo 'no space left'; exit 4" } });
    try {
      // Wide enough for the whole error, which names the command.
      const { code, screen } = await onTerminal(["apply", "-c", p.clusterFile, "--to", "1.0.1", "--yes"], {
        env: { NO_COLOR: "1" },
        cols: 250,
      }).done;
      assert.equal(code, 1, screen);
      // The last frame: the hop rolled back, and the step that failed, with why.
      const last = screen.slice(screen.lastIndexOf("ferry upgrade fake"));
      assert.match(last, /run \S+ {2}rolled-back/);
      assert.match(last, /↺ roll {2}api 0\/2 hosts {2}0\/10 steps, 2\/2 undone/);
      assert.match(
        last,
        /✗ 1\.0\.1\/roll\/api\/h1\/install {2}\(undone\) {2}`.*` on h1: exit 4: no space left/,
      );
    } finally {
      p.cleanup();
    }
  });
});

describe("progress off a terminal", () => {
  it("is one plain line per step transition, with no escape code even where CI asks for colour", async () => {
    const p = makeFakeProduct({ hosts: 2 });
    try {
      const r = await ferryAsync(["apply", "-c", p.clusterFile, "--to", "1.0.1", "--yes"], {
        NO_COLOR: "",
        CI: "true",
        FORCE_COLOR: "1",
      });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, ESCAPE);
      const lines = r.stdout.trim().split("\n");
      assert.match(lines[0] ?? "", /^\d\d:\d\d:\d\d run \S+ upgrade fake 1\.0\.0 → 1\.0\.1: 13 steps$/);
      assert.ok(lines.some((l) => /^\d\d:\d\d:\d\d running {2}1\.0\.1\/roll\/api\/h1\/stop$/.test(l)));
      assert.ok(
        lines.some((l) => /^\d\d:\d\d:\d\d done {5}1\.0\.1\/roll\/api\/h1\/stop \(\d+\.\ds\)$/.test(l)),
      );
      // Two lines per step (running, done), a start line, two run lines, and the outcome.
      assert.equal(lines.length, 13 * 2 + 1 + 2 + 1, r.stdout);
      assert.equal(lines.at(-1), "fake runs 1.0.1");
    } finally {
      p.cleanup();
    }
  });
});
