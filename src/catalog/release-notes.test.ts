import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineCatalog } from "./catalog.js";
import { planPath } from "./path-planner.js";
import { warningsToAccept } from "./release-notes.js";

const VOLUMES = "volumes a storage class provisioned are lost";

/** KubeFATE's storage-class matrix: a hop from before 1.9.0 into 1.9.0 or later loses volumes. */
const kubefate = defineCatalog({
  product: "fate",
  scheme: "semver",
  policy: { stepwise: false, leaveSeriesFrom: "any", skipSeries: false, rolling: "always" },
  releases: [
    "1.7.0",
    "1.7.1",
    "1.7.2",
    { version: "1.8.0", notes: "172-180.sql runs once the cluster is running." },
    {
      version: "1.9.0",
      notes: "Some components become StatefulSets.",
      warnings: [
        { from: "<1.9.0", text: VOLUMES, acknowledge: true },
        { text: "An existing PVC keeps its data." },
      ],
    },
    { version: "1.10.0", warnings: [{ from: "<1.9.0", text: VOLUMES, acknowledge: true }] },
  ],
});

/** Backend.AI's rules in calver, where 23.09.9 comes before 23.09.10 although "9" > "1". */
const backendAi = defineCatalog({
  product: "backend.ai",
  scheme: "calver",
  releases: [
    "23.09.8",
    "23.09.9",
    {
      version: "23.09.10",
      warnings: [{ from: "<23.09.10", text: "the agent's config moves", acknowledge: true }],
    },
    {
      version: "24.03.0",
      warnings: [
        { from: "<23.09.9", text: "never shown: a hop into 24.03 starts from 23.09.10" },
        { from: "~23.09", text: "restart every agent" },
      ],
    },
  ],
});

const shown = (catalog: typeof kubefate, from: string, to: string, direct = false) =>
  planPath(catalog, from, to, { direct }).hops.map((h) => ({
    hop: `${h.from} → ${h.to}`,
    notes: h.notes.map((n) => `${n.release}: ${n.text}`),
    warnings: h.warnings.map((w) => `${w.release}: ${w.text}${w.acknowledge ? " (accept)" : ""}`),
  }));

describe("a hop's release notes and warnings", () => {
  it("a `from` range matches the hops that start in it and not the others (semver)", () => {
    assert.deepEqual(shown(kubefate, "1.7.2", "1.10.0"), [
      { hop: "1.7.2 → 1.8.0", notes: ["1.8.0: 172-180.sql runs once the cluster is running."], warnings: [] },
      {
        hop: "1.8.0 → 1.9.0",
        notes: ["1.9.0: Some components become StatefulSets."],
        warnings: [`1.9.0: ${VOLUMES} (accept)`, "1.9.0: An existing PVC keeps its data."],
      },
      { hop: "1.9.0 → 1.10.0", notes: [], warnings: [] },
    ]);
  });

  it("a range is read in the calver order, not as text", () => {
    assert.deepEqual(shown(backendAi, "23.09.8", "24.03.0"), [
      { hop: "23.09.8 → 23.09.9", notes: [], warnings: [] },
      { hop: "23.09.9 → 23.09.10", notes: [], warnings: ["23.09.10: the agent's config moves (accept)"] },
      { hop: "23.09.10 → 24.03.0", notes: [], warnings: ["24.03.0: restart every agent"] },
    ]);
  });

  it("a hop that leaps over releases shows theirs too, matched against its own start", () => {
    const kubefateLeaping = defineCatalog({
      product: "fate",
      scheme: "semver",
      policy: { stepwise: false, leaveSeriesFrom: "any", skipSeries: true },
      releases: kubefate.releases.map(({ series: _s, major: _m, ...r }) => r),
    });
    assert.deepEqual(shown(kubefateLeaping, "1.7.0", "1.10.0"), [
      {
        hop: "1.7.0 → 1.10.0",
        notes: [
          "1.8.0: 172-180.sql runs once the cluster is running.",
          "1.9.0: Some components become StatefulSets.",
        ],
        warnings: [
          `1.9.0: ${VOLUMES} (accept)`,
          "1.9.0: An existing PVC keeps its data.",
          `1.10.0: ${VOLUMES} (accept)`,
        ],
      },
    ]);
  });

  it("a downgrade shows those of the release it goes back to, whose ranges it starts in", () => {
    const ganeti = defineCatalog({
      product: "ganeti",
      scheme: "semver",
      policy: { downgrade: "previous-series", stepwise: false, leaveSeriesFrom: "any" },
      releases: [
        {
          version: "2.9.0",
          notes: "2.9",
          warnings: [{ from: ">=2.10.0", text: "the job queue is emptied" }],
        },
        { version: "2.10.0", notes: "2.10", warnings: [{ text: "upgrade the config" }] },
      ],
    });
    assert.deepEqual(shown(ganeti, "2.10.0", "2.9.0"), [
      { hop: "2.10.0 → 2.9.0", notes: ["2.9.0: 2.9"], warnings: ["2.9.0: the job queue is emptied"] },
    ]);
  });

  it("warningsToAccept lists only those to accept, each with its hop", () => {
    assert.deepEqual(warningsToAccept(planPath(kubefate, "1.7.2", "1.10.0").hops), [
      { hop: "1.8.0 → 1.9.0", release: "1.9.0", from: "<1.9.0", text: VOLUMES, acknowledge: true },
    ]);
    assert.deepEqual(warningsToAccept(planPath(kubefate, "1.9.0", "1.10.0").hops), []);
  });

  it("a catalog without notes gives every hop empty lists", () => {
    const plain = defineCatalog({ product: "p", scheme: "semver", releases: ["1.0.0", "1.0.1"] });
    const [hop] = planPath(plain, "1.0.0", "1.0.1").hops;
    assert.deepEqual([hop?.notes, hop?.warnings], [[], []]);
  });
});
