import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineCatalog, planPath } from "../catalog/index.js";
import { acceptReleaseWarnings, describeAcceptance, UnacceptedWarningsError } from "./release-warnings.js";

const catalog = defineCatalog({
  product: "fate",
  scheme: "semver",
  policy: { leaveSeriesFrom: "any", stepwise: false },
  releases: [
    "1.8.0",
    {
      version: "1.9.0",
      warnings: [{ from: "<1.9.0", text: "volumes are lost", acknowledge: true }, { text: "only shown" }],
    },
    "1.10.0",
  ],
});
const hops = planPath(catalog, "1.8.0", "1.10.0").hops;
const ACCEPTED = [{ hop: "1.8.0 → 1.9.0", release: "1.9.0", from: "<1.9.0", text: "volumes are lost" }];

describe("acceptReleaseWarnings", () => {
  it("with the flag: accepted without asking, recorded as by flag", async () => {
    const asked: unknown[] = [];
    const a = await acceptReleaseWarnings(
      hops,
      { acceptWarnings: true, askWarnings: async (w) => asked.push(w) > 0 },
      "tom@bastion",
    );
    assert.deepEqual(asked, []);
    assert.deepEqual({ ...a, at: "" }, { by: "tom@bastion", at: "", how: "flag", warnings: ACCEPTED });
    assert.ok(a && !Number.isNaN(Date.parse(a.at)));
    assert.match(
      describeAcceptance(a),
      /^release warnings of 1\.9\.0 accepted by tom@bastion at \S+ \(by flag\)/,
    );
  });

  it("asked: yes is accepted at the prompt, with only the warnings to acknowledge asked about", async () => {
    let asked: unknown;
    const a = await acceptReleaseWarnings(
      hops,
      {
        askWarnings: async (w) => {
          asked = w;
          return true;
        },
      },
      "tom",
    );
    assert.deepEqual(asked, [{ ...ACCEPTED[0], acknowledge: true }]);
    assert.equal(a?.how, "prompt");
  });

  it("asked: no is a refusal that says so; nobody to ask is a refusal naming the way out", async () => {
    await assert.rejects(
      acceptReleaseWarnings(hops, { askWarnings: async () => false }, "tom"),
      (err: unknown) =>
        err instanceof UnacceptedWarningsError &&
        err.exitCode === 3 &&
        /^not accepted, so nothing was changed: 1\.9\.0 \(from <1\.9\.0\)/.test(err.message),
    );
    await assert.rejects(
      acceptReleaseWarnings(hops, {}, "tom"),
      (err: unknown) =>
        err instanceof UnacceptedWarningsError &&
        err.rule === "release-warnings" &&
        err.warnings.length === 1 &&
        /--accept-warnings/.test(err.wayOut ?? ""),
    );
  });

  it("a path with nothing to acknowledge needs nothing, and records nothing", async () => {
    const later = planPath(catalog, "1.9.0", "1.10.0").hops;
    assert.equal(await acceptReleaseWarnings(later, {}, "tom"), null);
    assert.equal(await acceptReleaseWarnings(later, { acceptWarnings: true }, "tom"), null);
  });
});
