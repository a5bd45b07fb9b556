import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { allowedHostProblem, allowedHosts, hostAllowed, hostName } from "./allowed-hosts.js";

describe("allowed hosts", () => {
  it("normalises a Host header's name as a browser writes it", () => {
    for (const [header, name] of [
      ["localhost:7070", "localhost"],
      ["Ferry.Example.COM.:8443", "ferry.example.com"],
      ["[0:0:0:0:0:0:0:1]:7070", "[::1]"],
      ["[::1]", "[::1]"],
      ["127.1", "127.0.0.1"],
    ] as const) {
      assert.equal(hostName(header), name, header);
    }
    for (const header of [
      "",
      "evil.example@127.0.0.1",
      "a b",
      "localhost:port",
      "::1",
      "..",
      "%6cocalhost",
      ":7070",
    ]) {
      assert.equal(hostName(header), undefined, header);
    }
  });

  it("answers to loopback, the bound address and the names given, on any port, and to nothing else", () => {
    const onAll = allowedHosts("0.0.0.0", ["ferry.example.com"]);
    for (const h of ["localhost", "127.0.0.1:7070", "[::1]:7070", "0.0.0.0:7070", "FERRY.example.com:80"]) {
      assert.ok(hostAllowed(onAll, h), h);
    }
    for (const h of [
      undefined,
      "",
      "evil.example",
      "ferry.example.com.evil.example",
      "example.com",
      "10.0.0.5",
    ]) {
      assert.ok(!hostAllowed(onAll, h), String(h));
    }
    assert.ok(hostAllowed(allowedHosts("::1"), "[::1]:7070"));
    assert.ok(hostAllowed(allowedHosts("fd00::5"), "[fd00::5]"));
    assert.ok(hostAllowed(allowedHosts("ops.lan"), "ops.lan:7070"));
    assert.throws(
      () => allowedHosts("127.0.0.1", ["ops.lan:80"]),
      /allowed host: "ops\.lan:80" is not a host name/,
    );
  });

  it("--allowed-host takes a name or an address as a URL writes it, nothing more", () => {
    for (const ok of ["ferry.example.com", "10.0.0.5", "[fd00::5]", "ops-1.internal"]) {
      assert.equal(allowedHostProblem(ok), undefined, ok);
    }
    assert.match(allowedHostProblem("fd00::5") ?? "", /write it as in a URL, \[fd00::5\]/);
    for (const bad of ["ferry.example.com:8080", "http://ferry.example.com", "a b", "", "x/y"]) {
      assert.match(allowedHostProblem(bad) ?? "", /without scheme, port or path/, bad);
    }
  });
});
