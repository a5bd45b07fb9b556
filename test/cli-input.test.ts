/**
 * Input ferry must not trust, through bin/ferry: the cluster file's `version:` and host addresses
 * (validated with the file, exit 2 on their line, nothing run), what a host's version command
 * prints (named as the host's, never blamed on a flag), and escape sequences in what hosts print
 * (never drawn on the terminal).
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { allAt, withProduct } from "./support/fake-product.js";
import { noPseudoTerminal, onTerminal, withoutEscapes } from "./support/pseudo-terminal.js";
import { ferryAsync } from "./support/run-ferry-async.js";

/** The 1-based number of the file's first line that matches `pattern`. */
function lineOf(file: string, pattern: RegExp): number {
  const i = readFileSync(file, "utf8")
    .split("\n")
    .findIndex((l) => pattern.test(l));
  assert.ok(i >= 0, `${pattern} is not in ${file}`);
  return i + 1;
}

const escaped = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

describe("the cluster file's version:", () => {
  for (const [version, why] of [
    ["9.9.9", /9\.9\.9 is not a release in \S*releases\.yaml; it has no series 9\.9/],
    ["1.0.1;id", /a version is letters, digits/],
  ] as const) {
    it(`${version}: check, plan and apply say so on its line (exit 2), never blaming --to, and run nothing`, async () => {
      await withProduct({ extra: `version: ${version}` }, async (p, c) => {
        const at = new RegExp(
          `^ferry: error: ${escaped(p.clusterFile)}:${lineOf(p.clusterFile, /^version:/)}:\\d+: version: `,
        );
        for (const args of [["check"], ["plan"], ["apply", "--yes"]]) {
          const r = await ferryAsync([...args, ...c]);
          assert.equal(r.code, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
          assert.match(r.stderr, at, args[0]);
          assert.match(r.stderr, why, args[0]);
          assert.doesNotMatch(r.stderr, /--to/, args[0]);
        }
        assert.ok(allAt(p, "1.0.0"));
        assert.deepEqual(p.log(), [], "no command ran");
      });
    });
  }

  it("a release of the catalog passes ferry check", async () => {
    await withProduct({ extra: "version: 1.0.2" }, async (_p, c) => {
      const r = await ferryAsync(["check", ...c]);
      assert.equal(r.code, 0, r.stderr);
    });
  });
});

describe("what a host's version command prints", () => {
  it("when it is no release, plan, check and apply name the members and their output (exit 3), never --from", async () => {
    await withProduct({ hosts: 2, commands: { version: "echo 'v1 (build 7)'" } }, async (p, c) => {
      for (const args of [
        ["plan", "--to", "1.0.1"],
        ["check", "--to", "1.0.1"],
        ["apply", "--to", "1.0.1", "--yes"],
      ]) {
        const r = await ferryAsync([...args, ...c]);
        assert.equal(r.code, 3, `${args[0]}: ${r.stdout}${r.stderr}`);
        assert.match(
          r.stderr,
          /the members of fake answer their version command with "v1 \(build 7\)", which is not a release they could run: "v1 \(build 7\)" is not a semver version/,
          args[0],
        );
        assert.match(r.stderr, /api@h1: v1 \(build 7\)\n {2}api@h2: v1 \(build 7\)/, args[0]);
        assert.doesNotMatch(r.stderr, /--from/, args[0]);
      }
      assert.deepEqual(p.log(), [], "nothing but the version commands ran");
    });
  });
});

describe("a host's address", () => {
  it("that is no host name or IP address is exit 2 naming its line, and nothing runs", async () => {
    await withProduct({ hosts: 2, commands: { check: "echo checking {{address}}" } }, async (p, c) => {
      const marker = join(p.dir, "pwned");
      const text = readFileSync(p.clusterFile, "utf8");
      writeFileSync(
        p.clusterFile,
        text.replace("address: 127.0.0.2", `address: "127.0.0.2;touch ${marker}"`),
      );
      const line = lineOf(p.clusterFile, /pwned/);
      for (const args of [["check"], ["plan", "--to", "1.0.1"], ["apply", "--to", "1.0.1", "--yes"]]) {
        const r = await ferryAsync([...args, ...c]);
        assert.equal(r.code, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(
            `${escaped(p.clusterFile)}:${line}:\\d+: hosts\\[1\\]\\.address: an address is a host name .* or an IPv4 or IPv6 address`,
          ),
        );
      }
      assert.ok(!existsSync(marker), "the address ran as a command");
      assert.deepEqual(p.log(), []);
    });
  });

  it("may be a host name, an IPv4 or an IPv6 address", async () => {
    await withProduct({ hosts: 4 }, async (p, c) => {
      const text = readFileSync(p.clusterFile, "utf8")
        .replace("address: 127.0.0.1", "address: localhost")
        .replace("address: 127.0.0.2", "address: db-1.example.com.")
        .replace("address: 127.0.0.3", 'address: "::1"')
        .replace("address: 127.0.0.4", 'address: "fe80::1%lo"');
      writeFileSync(p.clusterFile, text);
      const r = await ferryAsync(["check", ...c]);
      assert.equal(r.code, 0, r.stderr);
    });
  });
});

/**
 * What a hostile host prints before its text: a window title (OSC), a screen clear, an 8-bit CSI.
 * The title's p is \160, so that "pwned" is in what the host prints and not in the command.
 */
const NASTY = String.raw`printf '\033]0;\160wned\007\033[2J\302\2332J%s\n'`;
/** Escape sequences and control characters a host sent, as they would reach the terminal. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is looked for
const HOSTILE = /\u001b\]|\u001b\[2J|\u0007|\u009b|pwned/;
/** An install that prints NASTY before "boom", and fails. */
const FAILING_INSTALL = { install: `${NASTY} boom; exit 4` };

describe("what hosts print, on the way to a terminal", () => {
  it("off a terminal: status, the plain progress lines and the outcome carry no escape sequence of theirs", async () => {
    const version = `${NASTY} "$(cat {{vars.root}}/{{host}}/{{component}}/current/VERSION)"`;
    await withProduct({ hosts: 2, commands: { version } }, async (_p, c) => {
      const status = await ferryAsync(["status", ...c]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /api@h1 +1\.0\.0/);
      assert.doesNotMatch(status.stdout + status.stderr, HOSTILE);
    });
    await withProduct({ hosts: 2, commands: FAILING_INSTALL }, async (_p, c) => {
      const r = await ferryAsync(["apply", "--to", "1.0.1", "--yes", ...c]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /failed +1\.0\.1\/roll\/api\/h1\/install .*exit 4: boom/);
      assert.doesNotMatch(r.stdout + r.stderr, HOSTILE);
    });
  });

  it("--json and the run log keep what they printed, escaped: no raw control character in either", async () => {
    await withProduct({ hosts: 2, commands: FAILING_INSTALL }, async (p, c) => {
      const r = await ferryAsync(["apply", "--to", "1.0.1", "--yes", "--json", ...c]);
      assert.equal(r.code, 1, r.stderr);
      const events = r.stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      const { runId } = events[0];
      const log = readFileSync(join(p.dir, "state", "logs", `${runId}.jsonl`), "utf8");
      for (const [what, text] of [
        ["stdout", r.stdout],
        ["the run log", log],
      ] as const) {
        const raw = [...text].filter((ch) => {
          const n = ch.codePointAt(0) ?? 0;
          return (n < 0x20 && ch !== "\n") || (n >= 0x7f && n <= 0x9f);
        });
        assert.deepEqual(raw, [], what);
        const lines = text
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l));
        assert.ok(
          lines.some((e) => e.line === "\u001b]0;pwned\u0007\u001b[2J\u009b2Jboom"),
          `${what}: the output line as the host printed it`,
        );
      }
    });
  });

  it("on a terminal: the live tree draws the failed step's output without its escape sequences", {
    skip: noPseudoTerminal,
  }, async () => {
    await withProduct({ hosts: 2, commands: FAILING_INSTALL }, async (_p, c) => {
      const { code, screen } = await onTerminal(["apply", "--to", "1.0.1", "--yes", ...c], { cols: 250 })
        .done;
      assert.equal(code, 1, screen);
      assert.match(withoutEscapes(screen), /✗ 1\.0\.1\/roll\/api\/h1\/install .*exit 4: boom/);
      assert.doesNotMatch(screen, HOSTILE);
    });
  });
});
