import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { EndFinder, endedHow, shellLine } from "./ssh-shell.js";

/** Runs one shellLine in a real /bin/sh on this machine, as the shell on a host would. */
async function runLine(
  command: string,
  env: Record<string, string> = {},
  whileRunning?: (pgid: number) => void,
): Promise<{ output: string; pgid: number; status: number; exited: boolean; lingering: boolean }> {
  const token = "ferry-0123456789abcdef01234567";
  const sh = spawn("/bin/sh", [], { stdio: ["pipe", "pipe", "pipe"] });
  const finder = new EndFinder(token);
  const out: Buffer[] = [];
  let pgid = 0;
  let err = "";
  const end = await new Promise<{ status: number; exited: boolean; lingering: boolean }>((resolve) => {
    sh.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      const m = new RegExp(`${token} p (\\d+)\\n`).exec(err);
      if (m && pgid === 0) {
        pgid = Number(m[1]);
        whileRunning?.(pgid);
      }
    });
    sh.stdout.on("data", (chunk: Buffer) => {
      // Byte by byte: the token split anywhere is still found.
      for (const byte of chunk) {
        const r = finder.push(Buffer.from([byte]));
        out.push(...r.output);
        if (r.end) resolve(r.end);
      }
    });
    sh.stdin.write(shellLine(command, env, token));
  });
  sh.stdin.end();
  return { output: Buffer.concat(out).toString("utf8"), pgid, ...end };
}

describe("the shell line that runs a command in a long-lived shell", () => {
  it("reports exit codes, and tells an exit of 143 from death by SIGTERM", async () => {
    const three = await runLine("echo out; echo err >&2; exit 3");
    assert.deepEqual([three.output, three.status, three.exited], ["out\nerr\n", 3, true]);
    assert.deepEqual(endedHow(three.status, three.exited), { code: 3, signal: null });

    const own = await runLine("exit 143");
    assert.deepEqual(endedHow(own.status, own.exited), { code: 143, signal: null });

    const killed = await runLine("sleep 30", {}, (pgid) =>
      setTimeout(() => process.kill(-pgid, "SIGTERM"), 50),
    );
    assert.deepEqual(endedHow(killed.status, killed.exited), { code: null, signal: "SIGTERM" });
  });

  it("runs the command as the leader of its own process group, with its variables and no stdin", async () => {
    const r = await runLine('echo "$FERRY_ODD"; ps -o pgid= -p $$; echo $$; cat; echo end', {
      FERRY_ODD: `it's "quoted" $HOME \`x\` \\ end`,
    });
    const [odd, pgid, pid, end] = r.output
      .trim()
      .split("\n")
      .map((l) => l.trim());
    assert.equal(odd, `it's "quoted" $HOME \`x\` \\ end`);
    assert.equal(Number(pgid), r.pgid);
    assert.equal(Number(pid), r.pgid);
    assert.equal(end, "end");
    assert.equal(r.lingering, false);
  });

  it("says when the command left processes behind in its group", async () => {
    const r = await runLine("sleep 0.5 >/dev/null & echo started");
    assert.deepEqual([r.output, r.lingering], ["started\n", true]);
  });
});

describe("EndFinder", () => {
  const token = "ferry-aaaa";
  it("passes output that merely resembles the token, and keeps what follows the end for later", () => {
    const f = new EndFinder(token);
    const a = f.push(Buffer.from("ferry-a"));
    assert.deepEqual(Buffer.concat(a.output).toString(), "");
    const b = f.push(Buffer.from(`b\x00${token} n${token} e 0 1\nlate`));
    assert.equal(Buffer.concat(b.output).toString(), "ferry-ab\x00");
    assert.deepEqual(b.end && { ...b.end, after: b.end.after.toString() }, {
      status: 0,
      exited: true,
      lingering: true,
      after: "late",
    });
  });
});
