import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { lineSplitter } from "./events.js";

function split(chunks: readonly string[]): string[] {
  const lines: string[] = [];
  const s = lineSplitter((l) => lines.push(l));
  for (const c of chunks) s.push(c);
  s.end();
  return lines;
}

describe("lineSplitter", () => {
  it("makes whole lines of chunks cut anywhere, a \\r\\n cut in two included", () => {
    assert.deepEqual(split(["one\r", "\ntw", "o\n", "three"]), ["one", "two", "three"]);
    assert.deepEqual(split(["a\r\nb\r\n"]), ["a", "b"]);
  });

  it("counts a lone carriage return (a progress bar's redraw) as a line end", () => {
    assert.deepEqual(split(["10%\r", "50%\r", "100%\n"]), ["10%", "50%", "100%"]);
    assert.deepEqual(split(["last\r"]), ["last"]);
  });
});
