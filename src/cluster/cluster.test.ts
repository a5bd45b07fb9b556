import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { UserError } from "../errors.js";
import { parseCluster } from "./cluster.js";
import { render, templateEnv } from "./template.js";

const BASE = `name: demo
catalog: ./releases.yaml
vars: { root: /srv/notes, port: 8080 }
hosts:
  - { name: h1, address: 10.0.0.1 }
  - { name: h2, address: 10.0.0.2, vars: { root: /opt/notes } }
components:
  - name: api
    hosts: [h1, h2]
    order: 2
    maxUnavailable: 1
    commands:
      version: cat {{vars.root}}/{{host}}/api/current/VERSION
      install: install-notes {{version}}
      stop: systemctl stop notes-api
      activate: ln -sfn {{vars.root}}/{{version}} {{vars.root}}/current
      start: systemctl start notes-api
    health: { http: "http://{{address}}:{{vars.port}}/health", timeout: 2s, healthyFor: 1s }
`;

/** A `notify` entry (its lines) and what is wrong with it, on which line: 20 is `webhook`, 21 the next. */
const NOTIFY_PROBLEMS: readonly (readonly [string, readonly string[], RegExp])[] = [
  [
    "an unknown notification event",
    ["webhook: https://hooks.example/ferry", "events: [started, finished]"],
    /:21: notify\[0\]\.events\[1\]: .*"started"/,
  ],
  [
    "an event listed twice",
    ["webhook: https://hooks.example/ferry", "events: [done, done]"],
    /:21: notify\[0\]\.events\[1\]: done is listed twice/,
  ],
  [
    "an empty list of events",
    ["webhook: https://hooks.example/ferry", "events: []"],
    /:21: notify\[0\]\.events: name at least one event, or leave events out/,
  ],
  [
    "a webhook that is no URL",
    ["webhook: hooks.example/ferry"],
    /:20: notify\[0\]\.webhook: "hooks\.example\/ferry" is not a URL/,
  ],
  [
    "a webhook that is not http",
    ["webhook: ftp://hooks.example/ferry"],
    /:20: notify\[0\]\.webhook: a webhook is an http:\/\/ or https:\/\/ URL, not ftp:/,
  ],
  [
    "a webhook with a token in its query",
    ["webhook: https://hooks.example/ferry?token=abc123"],
    /:20: notify\[0\]\.webhook: holds a password or a token, .* take that part from the environment/,
  ],
  [
    "a webhook with a password",
    ["webhook: https://ferry:pw123@hooks.example/ferry"],
    /:20: notify\[0\]\.webhook: holds a password or a token/,
  ],
  [
    `a webhook whose reference is not \${env:NAME}`,
    [`webhook: https://hooks.example/\${ENV:TOKEN}`],
    /:20: notify\[0\]\.webhook: \$\{ENV:TOKEN\} is not a reference ferry knows: write \$\{env:NAME\}/,
  ],
  [
    "an Authorization header written out",
    ["webhook: https://hooks.example/ferry", 'headers: { Authorization: "Bearer abc123" }'],
    /:21: notify\[0\]\.headers\.Authorization: a secret must not be written in the file .*Bearer \$\{env:HOOK_TOKEN\}/,
  ],
  [
    "an API key header written out",
    ["webhook: https://hooks.example/ferry", "headers: { X-Api-Key: abc123 }"],
    /:21: notify\[0\]\.headers\.X-Api-Key: a secret must not be written in the file/,
  ],
  [
    "a header ferry sets itself",
    ["webhook: https://hooks.example/ferry", "headers: { Idempotency-Key: mine }"],
    /:21: notify\[0\]\.headers\.Idempotency-Key: ferry sets Idempotency-Key itself/,
  ],
  [
    "a header name that is no HTTP token",
    ["webhook: https://hooks.example/ferry", 'headers: { "X Team": ops }'],
    /:21: notify\[0\]\.headers\.X Team: a header name is letters, digits and -/,
  ],
  [
    "an unknown field",
    ["webhook: https://hooks.example/ferry", "secret: abc"],
    /:21: notify\[0\]\.secret: unknown field/,
  ],
];

function problems(text: string): string[] {
  try {
    parseCluster("/etc/ferry/cluster.yaml", text);
  } catch (err) {
    assert.ok(err instanceof UserError, String(err));
    assert.equal(err.exitCode, 2);
    return err.problems.map((p) => `${p.file}:${p.line}: ${p.field}: ${p.message}`);
  }
  assert.fail("accepted");
}

describe("the cluster file", () => {
  it("reads a valid file, resolving paths and durations and applying defaults", () => {
    const c = parseCluster("/etc/ferry/cluster.yaml", BASE);
    assert.equal(c.catalog, "/etc/ferry/releases.yaml");
    assert.equal(c.state, ".ferry/state.db");
    assert.equal(c.dir, "/etc/ferry");
    assert.equal(c.onFailure, "rollback");
    assert.deepEqual(c.vars, { root: "/srv/notes", port: "8080" });
    const api = c.components[0];
    assert.equal(api?.timeoutMs, 300_000);
    assert.deepEqual(api?.health?.gate, {
      timeoutMs: 2000,
      healthyForMs: 1000,
      deadlineMs: 60_000,
      intervalMs: 500,
    });
    assert.equal(c.hosts[0]?.driver, "local");
  });

  it("reads an SSH host with its defaults, its paths resolved from the file or ~", () => {
    const text = BASE.replace(
      "{ name: h1, address: 10.0.0.1 }",
      "{ name: h1, address: 10.0.0.1, driver: ssh, user: deploy, identityFile: keys/fleet, knownHostsFile: ~/fleet_known_hosts, keepaliveInterval: 2s }",
    );
    const c = parseCluster("/etc/ferry/cluster.yaml", text);
    assert.deepEqual(c.hosts[0]?.ssh, {
      user: "deploy",
      port: 22,
      identityFile: "/etc/ferry/keys/fleet",
      knownHostsFile: join(homedir(), "fleet_known_hosts"),
      hostKeyPolicy: "strict",
      connectTimeoutMs: 10_000,
      keepaliveIntervalMs: 2000,
      keepaliveCountMax: 3,
    });
    assert.equal(c.hosts[1]?.ssh, undefined);
  });

  it("keeps a postgres:// state location as it is", () => {
    const c = parseCluster("/etc/ferry/cluster.yaml", `${BASE}state: postgres://ferry@db/ferry\n`);
    assert.equal(c.state, "postgres://ferry@db/ferry");
  });

  for (const [name, edit, expected] of [
    [
      "an unknown host in a component",
      (t: string) => t.replace("hosts: [h1, h2]", "hosts: [h1, h3]"),
      /:9: components\[0\]\.hosts\[1\]: no host named h3/,
    ],
    [
      "a misspelt placeholder",
      (t: string) => t.replace("install-notes {{version}}", "install-notes {{verison}}"),
      /:14: components\[0\]\.commands\.install: unknown placeholder \{\{verison\}\}/,
    ],
    [
      "an undefined var",
      (t: string) => t.replace("systemctl stop notes-api", "systemctl stop {{vars.unit}}"),
      /:15: components\[0\]\.commands\.stop: \{\{vars\.unit\}\} is not defined/,
    ],
    [
      "{{version}} in a probe, which describes a member whatever the hop",
      (t: string) => t.replace("/health", "/{{version}}"),
      /:18: components\[0\]\.health\.http: unknown placeholder \{\{version\}\}/,
    ],
    [
      "{{host}} in a command run on this machine",
      (t: string) => `${t}backup: pg_dump > /b/{{host}}.sql\n`,
      /:19: backup: unknown placeholder \{\{host\}\}/,
    ],
    [
      "a bad duration",
      (t: string) => t.replace("timeout: 2s", "timeout: 2 sec"),
      /:18: components\[0\]\.health\.timeout: /,
    ],
    [
      "a host defined twice",
      (t: string) => t.replace("name: h2", "name: h1"),
      /:6: hosts\[1\]\.name: host h1 is defined twice/,
    ],
    [
      "a zero timeout",
      (t: string) => t.replace("timeout: 2s", "timeout: 0s"),
      /:18: components\[0\]\.health\.timeout: must be more than zero/,
    ],
    [
      "healthyFor as long as the deadline",
      (t: string) => t.replace("healthyFor: 1s", "healthyFor: 1s, deadline: 1s"),
      /:18: components\[0\]\.health\.healthyFor: must be shorter than the deadline/,
    ],
    [
      "a health check of two kinds",
      (t: string) => t.replace('{ http: "http', '{ tcp: "x:1", http: "http'),
      /:18: components\[0\]\.health: a health check is exactly one of http/,
    ],
    [
      "a drain of no known kind",
      (t: string) => t.replace("    health: {", '    drain: { nginx: "x" }\n    health: {'),
      /components\[0\]\.drain: a drain is exactly one of exec \(with undrain\), http .* or haproxy/,
    ],
    [
      "a component with neither a stop command nor a pidFile",
      (t: string) => t.replace(/ {6}stop: systemctl stop notes-api\n/, ""),
      /:12: components\[0\]\.commands\.stop: missing; give a stop command, or pidFile/,
    ],
    [
      "maxUnavailable 0",
      (t: string) => t.replace("maxUnavailable: 1", "maxUnavailable: 0"),
      /:11: components\[0\]\.maxUnavailable: /,
    ],
    [
      "a missing command",
      (t: string) => t.replace(/ {6}start: systemctl start notes-api\n/, ""),
      /:12: components\[0\]\.commands\.start: missing/,
    ],
    [
      "a redundancy group naming a host the component is not on",
      (t: string) =>
        t.replace("    maxUnavailable: 1\n", "    maxUnavailable: 1\n    groups: { replicas: [h1, h3] }\n"),
      /:12: components\[0\]\.groups\.replicas\[1\]: h3 is not one of this component's hosts/,
    ],
    [
      "a redundancy group of one host",
      (t: string) =>
        t.replace("    maxUnavailable: 1\n", "    maxUnavailable: 1\n    groups: { replicas: [h1] }\n"),
      /:12: components\[0\]\.groups\.replicas: a group names at least two/,
    ],
    [
      "an SSH field on a local host",
      (t: string) => t.replace("address: 10.0.0.1 }", "address: 10.0.0.1, user: deploy }"),
      /:5: hosts\[0\]\.user: only for driver: ssh \(host h1 is local\)/,
    ],
    [
      "an unknown host key policy",
      (t: string) => t.replace("address: 10.0.0.1 }", "address: 10.0.0.1, driver: ssh, hostKeyPolicy: yes }"),
      /:5: hosts\[0\]\.hostKeyPolicy: /,
    ],
    [
      "a passphrase where its variable's name goes",
      (t: string) =>
        t.replace(
          "address: 10.0.0.1 }",
          'address: 10.0.0.1, driver: ssh, identityPassphraseEnv: "s3cret pass" }',
        ),
      /:5: hosts\[0\]\.identityPassphraseEnv: the name of an environment variable/,
    ],
    [
      "an unknown driver",
      (t: string) => t.replace("address: 10.0.0.1 }", "address: 10.0.0.1, driver: telnet }"),
      /:5: hosts\[0\]\.driver: /,
    ],
    ...[
      "127.0.0.1;touch /tmp/x",
      "10.0.0.1 ",
      "$(reboot)",
      "db.example.com-",
      "-db.example.com",
      "db..example.com",
      "999.1.1.1",
      "10.0.0",
      "[::1]",
      "fe80::1%eth0;id",
      "",
    ].map(
      (address) =>
        [
          `the address ${JSON.stringify(address)}`,
          (t: string) => t.replace("address: 10.0.0.2", `address: ${JSON.stringify(address)}`),
          /:6: hosts\[1\]\.address: an address is a host name .* or an IPv4 or IPv6 address/,
        ] as const,
    ),
    [
      "a version with a shell's characters in it",
      (t: string) => `${t}version: "1.0.1;id"\n`,
      /:19: version: a version is letters, digits/,
    ],
    // Batches, soak and gates: the component's lines end at 18 (health), so additions start at 19.
    [
      "both batches and maxUnavailable",
      (t: string) => `${t}    batches: [1, "50%"]\n`,
      /:19: components\[0\]\.batches: give either batches or maxUnavailable, not both/,
    ],
    [
      "a batch size of no hosts",
      (t: string) => `${t.replace("    maxUnavailable: 1\n", "")}    batches: [0]\n`,
      /:18: components\[0\]\.batches\[0\]: /,
    ],
    [
      "a batch percentage over 100%",
      (t: string) => `${t.replace("    maxUnavailable: 1\n", "")}    batches: [1, "150%"]\n`,
      /:18: components\[0\]\.batches\[1\]: .*at most 100%/,
    ],
    [
      "a gate with both below and above",
      (t: string) =>
        `${t}    gates:\n      - name: errors\n        prometheus: { url: "http://127.0.0.1:9090", query: "up", below: 1, above: 0 }\n`,
      /:21: components\[0\]\.gates\[0\]\.prometheus: give exactly one of below or above/,
    ],
    [
      "a gate whose failureLimit reaches its count",
      (t: string) =>
        `${t}    gates:\n      - name: errors\n        prometheus: { url: "http://127.0.0.1:9090", query: "up", below: 1 }\n        count: 2\n        failureLimit: 2\n`,
      /:23: components\[0\]\.gates\[0\]\.failureLimit: must be less than count \(2\)/,
    ],
    [
      "an inconclusive rule that is not pause, fail or pass",
      (t: string) =>
        `${t}    gates:\n      - name: errors\n        prometheus: { url: "http://127.0.0.1:9090", query: "up", below: 1 }\n        inconclusive: ignore\n`,
      /:22: components\[0\]\.gates\[0\]\.inconclusive: /,
    ],
    ...NOTIFY_PROBLEMS.map(
      ([what, entry, expected]) =>
        [what, (t: string) => `${t}notify:\n  - ${entry.join("\n    ")}\n`, expected] as const,
    ),
  ] as const) {
    it(`refuses ${name}, naming file, line and field`, () => {
      const found = problems(edit(BASE));
      assert.ok(
        found.some((p) => expected.test(p)),
        found.join("\n"),
      );
      assert.ok(found.every((p) => p.startsWith("/etc/ferry/cluster.yaml:")));
    });
  }

  it("reads notify: events default to all, references kept as written, to be expanded when sending", () => {
    const c = parseCluster(
      "/etc/ferry/cluster.yaml",
      `${BASE}notify:
  - webhook: "\${env:SLACK_WEBHOOK_URL}"
  - webhook: https://hooks.example/ferry
    events: [failed, rolled-back]
    headers: { Authorization: "Bearer \${env:HOOK_TOKEN}", X-Team: ops }
`,
    );
    assert.deepEqual(c.notify, [
      {
        webhook: `\${env:SLACK_WEBHOOK_URL}`,
        events: ["started", "awaiting-approval", "paused", "failed", "rolled-back", "done"],
        headers: {},
      },
      {
        webhook: "https://hooks.example/ferry",
        events: ["failed", "rolled-back"],
        headers: { Authorization: `Bearer \${env:HOOK_TOKEN}`, "X-Team": "ops" },
      },
    ]);
    assert.deepEqual(parseCluster("/c.yaml", BASE).notify, []);
  });

  it("reads batches, soak and gates, with the gates' defaults", () => {
    const c = parseCluster(
      "/etc/ferry/cluster.yaml",
      `${BASE.replace("    maxUnavailable: 1\n", "")}    batches: [1, "25%", "100%"]
    soak: 30s
    gates:
      - name: errors
        prometheus: { url: "http://127.0.0.1:9090", query: "sum(rate(errors_total[1m]))", below: 0.01 }
`,
    );
    const api = c.components[0];
    assert.deepEqual(api?.batches, [1, "25%", "100%"]);
    assert.equal(api?.soakMs, 30_000);
    assert.deepEqual(api?.gates, [
      {
        name: "errors",
        prometheus: {
          url: "http://127.0.0.1:9090",
          query: "sum(rate(errors_total[1m]))",
          bound: "below",
          threshold: 0.01,
        },
        intervalMs: 10_000,
        count: 3,
        failureLimit: 0,
        inconclusive: "pause",
      },
    ]);
  });

  it("takes a host name, an IPv4 or an IPv6 address as a host's address", () => {
    for (const address of [
      "db-1.example.com",
      "db-1.example.com.",
      "app_db_1",
      "localhost",
      "10.0.0.2",
      "::1",
      "fe80::1%eth0",
      "2001:db8::8a2e:370:7334",
      "::ffff:10.0.0.2",
    ]) {
      const c = parseCluster("/c.yaml", BASE.replace("address: 10.0.0.2", `address: "${address}"`));
      assert.equal(c.hosts[1]?.address, address);
    }
  });

  it("resolves a var the component lacks from every host that has it", () => {
    const text = BASE.replace("vars: { root: /srv/notes, port: 8080 }", "vars: { port: 8080 }").replace(
      "{ name: h1, address: 10.0.0.1 }",
      "{ name: h1, address: 10.0.0.1, vars: { root: /srv } }",
    );
    assert.doesNotThrow(() => parseCluster("/c.yaml", text));
    assert.throws(
      () => parseCluster("/c.yaml", text.replace("vars: { root: /srv } ", "")),
      /\{\{vars\.root\}\} is not defined/,
    );
  });
});

describe("templates", () => {
  it("renders the values and gives the same values as FERRY_* variables", () => {
    const values = {
      version: "1.0.1",
      from: "1.0.0",
      host: "h1",
      address: "10.0.0.1",
      component: "api",
      vars: { root: "/srv" },
    };
    assert.equal(
      render("{{vars.root}}/{{ version }} from {{from}} on {{host}}", values),
      "/srv/1.0.1 from 1.0.0 on h1",
    );
    assert.deepEqual(templateEnv(values), {
      FERRY_VERSION: "1.0.1",
      FERRY_FROM: "1.0.0",
      FERRY_HOST: "h1",
      FERRY_ADDRESS: "10.0.0.1",
      FERRY_COMPONENT: "api",
      FERRY_VAR_ROOT: "/srv",
    });
  });

  it("reads an http or haproxy drain, rendered per host", () => {
    const http = parseCluster(
      "/c.yaml",
      BASE.replace(
        "    health: {",
        '    drain: { http: { url: "http://gw:9000/b/{{address}}/drain", undrainUrl: "http://gw:9000/b/{{address}}/ready" } }\n    health: {',
      ),
    );
    assert.deepEqual(http.components[0]?.drain, {
      http: {
        url: "http://gw:9000/b/{{address}}/drain",
        undrainUrl: "http://gw:9000/b/{{address}}/ready",
        method: "POST",
        timeoutMs: 30_000,
      },
    });
    const haproxy = parseCluster(
      "/c.yaml",
      BASE.replace(
        "    health: {",
        '    drain: { haproxy: { socket: /run/haproxy.sock, backend: api, server: "{{host}}", timeout: 10s } }\n    health: {',
      ),
    );
    assert.deepEqual(haproxy.components[0]?.drain, {
      haproxy: { socket: "/run/haproxy.sock", backend: "api", server: "{{host}}", timeoutMs: 10_000 },
    });
    assert.throws(
      () =>
        parseCluster(
          "/c.yaml",
          BASE.replace(
            "    health: {",
            '    drain: { haproxy: { socket: s, backend: api, server: "{{version}}" } }\n    health: {',
          ),
        ),
      /drain\.haproxy\.server: unknown placeholder \{\{version\}\}/,
    );
  });
});
