/**
 * known_hosts rules, table-driven. The keys, hashed lines and fingerprints below were made with
 * OpenSSH's own ssh-keygen (`-t ed25519`, `-H`, `-lf`), so these tests check ferry against it.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  entryNames,
  fingerprint,
  keyTypeOf,
  knownHostsLine,
  parseKnownHosts,
  verifyHostKey,
} from "./known-hosts.js";

const A = "AAAAC3NzaC1lZDI1NTE5AAAAIDil+Ubkniy2eaNLCI2Mwqhz8tsq7GTMPgp5QC14GEQJ";
const B = "AAAAC3NzaC1lZDI1NTE5AAAAIJDFkC6NQJSIqyk6hHXbWMmldfMZYuiuSSjpi6BNwzYV";
const A_FP = "SHA256:02OSs7NvhIDOiOjDuPEjh5bz43x7Ur+s4kJGRSqJwhg";
const B_FP = "SHA256:gd8WkRn4O3dSHR5H+gowjd0rUdfLi6GT/BYYY2A+Xo4";
const keyA = Buffer.from(A, "base64");
const keyB = Buffer.from(B, "base64");

/** `10.86.0.11` → A and `[10.86.0.12]:2222` → B, hashed by `ssh-keygen -H`. */
const HASHED = [
  `|1|77aqH7Utfe++P4A4fA+6N9jf6oc=|7wkIzDx3+YXO6h0DrQ6py8RsJoE= ssh-ed25519 ${A}`,
  `|1|jri00psYpTyHABnejt/BygDUKZ8=|oEH2GwgC49XjiaYd/hL0Wnv+Z70= ssh-ed25519 ${B}`,
].join("\n");

describe("known_hosts", () => {
  it("fingerprints a key as ssh-keygen -lf does", () => {
    assert.equal(fingerprint(keyA), A_FP);
    assert.equal(fingerprint(keyB), B_FP);
    assert.equal(keyTypeOf(keyA), "ssh-ed25519");
  });

  const cases: [string, string, string, number, Buffer, ReturnType<typeof verifyHostKey>][] = [
    [
      "a plain entry, the same key",
      `10.86.0.11 ssh-ed25519 ${A}`,
      "10.86.0.11",
      22,
      keyA,
      { status: "known", line: 1 },
    ],
    [
      "a plain entry, another key",
      `10.86.0.11 ssh-ed25519 ${A}`,
      "10.86.0.11",
      22,
      keyB,
      { status: "changed", line: 1, expected: A_FP },
    ],
    ["a host not listed", `10.86.0.11 ssh-ed25519 ${A}`, "10.86.0.12", 22, keyA, { status: "unknown" }],
    ["a comma list", `h1,10.86.0.11 ssh-ed25519 ${A}`, "10.86.0.11", 22, keyA, { status: "known", line: 1 }],
    [
      "[host]:port names only that port",
      `[10.86.0.11]:2222 ssh-ed25519 ${A}`,
      "10.86.0.11",
      22,
      keyA,
      { status: "unknown" },
    ],
    [
      "[host]:port on its port",
      `[10.86.0.11]:2222 ssh-ed25519 ${A}`,
      "10.86.0.11",
      2222,
      keyA,
      { status: "known", line: 1 },
    ],
    ["a hashed entry", HASHED, "10.86.0.11", 22, keyA, { status: "known", line: 1 }],
    ["a hashed [host]:port entry", HASHED, "10.86.0.12", 2222, keyB, { status: "known", line: 2 }],
    [
      "a hashed entry, another key",
      HASHED,
      "10.86.0.11",
      22,
      keyB,
      { status: "changed", line: 1, expected: A_FP },
    ],
    ["hashed, another host", HASHED, "10.86.0.13", 22, keyA, { status: "unknown" }],
    ["a wildcard", `10.86.0.* ssh-ed25519 ${A}`, "10.86.0.11", 22, keyA, { status: "known", line: 1 }],
    [
      "a negated pattern",
      `10.86.0.*,!10.86.0.11 ssh-ed25519 ${A}`,
      "10.86.0.11",
      22,
      keyB,
      { status: "unknown" },
    ],
    [
      "comments and blank lines count in line numbers",
      `# fleet\n\n10.86.0.11 ssh-ed25519 ${B}\n10.86.0.11 ssh-ed25519 ${A}`,
      "10.86.0.11",
      22,
      keyA,
      { status: "known", line: 4 },
    ],
    [
      "a revoked key is refused whatever else lists it",
      `10.86.0.11 ssh-ed25519 ${A}\n@revoked * ssh-ed25519 ${A}`,
      "10.86.0.11",
      22,
      keyA,
      { status: "revoked", line: 2 },
    ],
    [
      "a cert-authority line is no host key",
      `@cert-authority * ssh-ed25519 ${A}`,
      "10.86.0.11",
      22,
      keyA,
      { status: "unknown" },
    ],
    [
      "a malformed line is skipped",
      `10.86.0.11 ssh-ed25519\n10.86.0.11 ssh-ed25519 ${A}`,
      "10.86.0.11",
      22,
      keyA,
      { status: "known", line: 2 },
    ],
  ];
  for (const [name, text, host, port, key, expected] of cases) {
    it(name, () => assert.deepEqual(verifyHostKey(parseKnownHosts(text), host, port, key), expected));
  }

  it("names match case-insensitively, hashed ones exactly", () => {
    assert.equal(entryNames("Node1.Example", "node1.example"), true);
    assert.equal(entryNames("node?.example", "node12.example"), false);
  });

  it("writes a line that it then reads as known, plain or with a port", () => {
    for (const port of [22, 2222]) {
      const text = knownHostsLine("10.86.0.11", port, keyA);
      assert.equal(text, `${port === 22 ? "10.86.0.11" : "[10.86.0.11]:2222"} ssh-ed25519 ${A}\n`);
      assert.deepEqual(verifyHostKey(parseKnownHosts(text), "10.86.0.11", port, keyA), {
        status: "known",
        line: 1,
      });
    }
  });
});
