/**
 * The README's examples are run: every ```console block's `$ ` lines, and what follows them up to
 * the next command, must be exactly what the command prints (stdout then stderr).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { parseCluster } from "../src/index.js";
import { ROOT, shell } from "./support/run-ferry.js";

interface Example {
  readonly command: string;
  readonly expected: string;
}

function consoleExamples(markdown: string): Example[] {
  const examples: Example[] = [];
  for (const block of markdown.matchAll(/```console\n([\s\S]*?)```/g)) {
    let current: { command: string; output: string[] } | undefined;
    for (const line of (block[1] ?? "").split("\n")) {
      if (line.startsWith("$ ")) {
        if (current) examples.push({ command: current.command, expected: current.output.join("\n") });
        current = { command: line.slice(2), output: [] };
      } else {
        current?.output.push(line);
      }
    }
    if (current) examples.push({ command: current.command, expected: current.output.join("\n") });
  }
  return examples;
}

const examples = consoleExamples(readFileSync(`${ROOT}README.md`, "utf8"));

it("the README has examples to run", () => assert.ok(examples.length >= 3));

for (const { command, expected } of examples) {
  it(`README: ${command}`, () => {
    const r = shell(command);
    assert.equal((r.stdout + r.stderr).trimEnd(), expected.trimEnd());
  });
}

it("the README's cluster.yaml example is a valid cluster file", () => {
  const yaml = [...readFileSync(`${ROOT}README.md`, "utf8").matchAll(/```yaml\n([\s\S]*?)```/g)].map(
    (m) => m[1] ?? "",
  );
  const example = yaml.find((text) => text.startsWith("name:"));
  assert.ok(example, "no cluster.yaml example in the README");
  const cluster = parseCluster("README.md", example);
  assert.deepEqual(
    cluster.components.map((c) => c.name),
    ["api"],
  );
});
