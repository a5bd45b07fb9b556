import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { forTerminal, jsonForTerminal } from "./terminal-text.js";

describe("forTerminal", () => {
  const cases: [string, string, string][] = [
    ["plain text", "done in 0.4s", "done in 0.4s"],
    ["tabs and line feeds stay", "a\tb\nc", "a\tb\nc"],
    ["CRLF is a line end; a lone CR goes", "one\r\ntwo\rthree", "one\ntwothree"],
    ["a window title (OSC, BEL)", "\u001b]0;pwned\u0007ok", "ok"],
    ["a window title (OSC, ST)", "\u001b]2;pwned\u001b\\ok", "ok"],
    ["an unterminated OSC takes the rest", "ok\u001b]0;pwned", "ok"],
    ["a hyperlink (OSC 8)", "\u001b]8;;http://evil/\u0007click\u001b]8;;\u0007", "click"],
    ["clear screen and colours", "\u001b[2J\u001b[1;31mred\u001b[0m", "red"],
    ["cursor moves with private parameters", "\u001b[?25l\u001b[10;1Hx", "x"],
    ["8-bit CSI", "\u009b2Jx", "x"],
    ["8-bit OSC up to ST", "\u009d0;pwned\u009cx", "x"],
    ["DCS", "\u001bPq#0;2;0;0;0\u001b\\x", "x"],
    ["reset and charset escapes", "\u001bc\u001b(Bx\u001b7", "x"],
    ["other C0, DEL and C1", "a\u0000b\u0008c\u007fd\u0085e", "abcde"],
    ["bidi overrides", "file\u202eexe.txt", "fileexe.txt"],
    ["a URL's password", "cannot reach postgres://u:p@ss@db/x", "cannot reach postgres://u:***@db/x"],
    ["text beyond ASCII stays", "naïve ✓ → 日本", "naïve ✓ → 日本"],
  ];
  for (const [what, input, want] of cases) it(what, () => assert.equal(forTerminal(input), want));
});

describe("jsonForTerminal", () => {
  it("escapes every control character and keeps the value", () => {
    const value = { line: "\u001b]0;x\u0007\u009b2J\u007f\u202e ✓" };
    const json = jsonForTerminal(value);
    const raw = [...json].filter((c) => {
      const n = c.codePointAt(0) ?? 0;
      return n < 0x20 || (n >= 0x7f && n <= 0x9f) || n === 0x202e;
    });
    assert.deepEqual(raw, []);
    assert.deepEqual(JSON.parse(json), value);
  });
});
