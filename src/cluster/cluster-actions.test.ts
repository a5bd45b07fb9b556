/**
 * The cluster file's actions and point of no return: read into the model, and every mistake
 * reported on its line, naming the field (exit 2).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UserError } from "../errors.js";
import { parseCluster } from "./cluster.js";

const BASE = `name: demo
catalog: ./releases.yaml
vars: { root: /srv }
hosts:
  - { name: h1, address: 10.0.0.1 }
  - { name: h2, address: 10.0.0.2, vars: { pid: /run/h2.pid } }
components:
  - name: api
    hosts: [h1, h2]
    commands: { version: v, install: i, stop: s, activate: a, start: st }
    actions:
      - { name: reload, at: after-unpin, run: "kill -HUP $(cat {{vars.root}}/pid) # {{kind}} {{direction}}" }
actions:
  - name: schema
    at: expand
    on: { component: api, host: active }
    run: "alembic upgrade head # {{host}} {{kind}}"
    check: alembic current
    undo: alembic downgrade -1
    timeout: 10m
  - { name: cfgdowngrade, at: install, run: "cfgupgrade --downgrade {{from}}", when: downgrade }
pointOfNoReturn: { before: { action: schema } }
`;

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

describe("actions in the cluster file", () => {
  it("reads actions and the point of no return, with their defaults", () => {
    const c = parseCluster("/etc/ferry/cluster.yaml", BASE);
    assert.deepEqual(c.components[0]?.actions, [
      {
        name: "reload",
        at: "after-unpin",
        run: "kill -HUP $(cat {{vars.root}}/pid) # {{kind}} {{direction}}",
        when: "upgrade",
      },
    ]);
    assert.deepEqual(c.actions, [
      {
        name: "schema",
        at: "expand",
        on: { component: "api", host: "active" },
        run: "alembic upgrade head # {{host}} {{kind}}",
        check: "alembic current",
        undo: "alembic downgrade -1",
        when: "upgrade",
        timeoutMs: 600_000,
      },
      { name: "cfgdowngrade", at: "install", run: "cfgupgrade --downgrade {{from}}", when: "downgrade" },
    ]);
    assert.deepEqual(c.pointOfNoReturn, { action: "schema" });
    const other = parseCluster(
      "/etc/ferry/cluster.yaml",
      BASE.replace("{ before: { action: schema } }", "{ before: { component: api, host: last } }"),
    );
    assert.deepEqual(other.pointOfNoReturn, { component: "api", host: "last" });
    const first = parseCluster(
      "/c.yaml",
      BASE.replace("{ component: api, host: active }", "{ component: api }"),
    );
    assert.equal(first.actions[0]?.on?.host, "first", "on.host defaults to first");
  });

  for (const [name, edit, expected] of [
    [
      "an unknown point of a host's roll",
      (t: string) => t.replace("at: after-unpin", "at: after-reboot"),
      /:12: components\[0\]\.actions\[0\]\.at: .*"before-drain"/,
    ],
    ["an unknown phase", (t: string) => t.replace("at: expand", "at: migrate"), /:15: actions\[0\]\.at: /],
    [
      "an on.component that does not exist",
      (t: string) => t.replace("component: api, host: active", "component: manager, host: active"),
      /:16: actions\[0\]\.on\.component: no component named manager \(components: api\)/,
    ],
    [
      "an on.host not among the component's hosts",
      (t: string) => t.replace("host: active", "host: h3"),
      /:16: actions\[0\]\.on\.host: h3 is not one of component api's hosts \(h1, h2\), nor active, first, last, all/,
    ],
    [
      "a point of no return before an action that does not exist",
      (t: string) => t.replace("before: { action: schema }", "before: { action: cfgupgrade }"),
      /:22: pointOfNoReturn\.before\.action: no action named cfgupgrade \(actions: schema, cfgdowngrade\)/,
    ],
    [
      "a point of no return before a component that does not exist",
      (t: string) => t.replace("before: { action: schema }", "before: { component: ctl, host: last }"),
      /:22: pointOfNoReturn\.before\.component: no component named ctl/,
    ],
    [
      "a point of no return before a host not among the component's",
      (t: string) => t.replace("before: { action: schema }", "before: { component: api, host: h9 }"),
      /:22: pointOfNoReturn\.before\.host: h9 is not one of component api's hosts \(h1, h2\), nor first or last/,
    ],
    [
      "a point of no return before neither an action nor a host",
      (t: string) => t.replace("before: { action: schema }", "before: { phase: roll }"),
      /:22: pointOfNoReturn\.before: before is exactly one of/,
    ],
    [
      "two cluster actions of one name",
      (t: string) => t.replace("name: cfgdowngrade", "name: schema"),
      /:21: actions\[1\]\.name: action schema is defined twice/,
    ],
    [
      "two actions of one name in a component",
      (t: string) =>
        t.replace(
          "      - { name: reload,",
          "      - { name: reload, at: after-stop, run: x }\n      - { name: reload,",
        ),
      /:13: components\[0\]\.actions\[1\]\.name: action reload is defined twice in component api/,
    ],
    [
      "{{host}} in an action run on this machine",
      (t: string) => t.replace("cfgupgrade --downgrade {{from}}", "cfgupgrade {{host}}"),
      /:21: actions\[1\]\.run: unknown placeholder \{\{host\}\}/,
    ],
    [
      "a var that one of the action's hosts lacks",
      (t: string) => t.replace("alembic current", "test -f {{vars.pid}}"),
      /:18: actions\[0\]\.check: \{\{vars\.pid\}\} is not defined/,
    ],
    [
      "an approval point that also runs a command",
      (t: string) => t.replace('run: "cfgupgrade --downgrade {{from}}"', 'run: x, approve: "go?"'),
      /:21: actions\[1\]\.run: give run or approve, not both/,
    ],
    [
      "an approval point with an undo",
      (t: string) => t.replace('run: "cfgupgrade --downgrade {{from}}"', 'approve: "go?", undo: x'),
      /:21: actions\[1\]\.undo: not with approve: an approval point runs nothing/,
    ],
    [
      "an action with neither run nor approve",
      (t: string) => t.replace('run: "cfgupgrade --downgrade {{from}}", ', ""),
      /:21: actions\[1\]\.run: missing; an action has run \(a command\) or approve/,
    ],
    [
      "an unknown approval point of a component",
      (t: string) =>
        t.replace(
          "    actions:\n      - { name: reload",
          "    approve: sometimes\n    actions:\n      - { name: reload",
        ),
      /:11: components\[0\]\.approve: /,
    ],
    [
      "an unknown field in an action",
      (t: string) => t.replace("timeout: 10m", "timeout: 10m\n    retries: 3"),
      /:21: actions\[0\]\.retries: unknown field/,
    ],
  ] as const) {
    it(`refuses ${name}, naming the file, line and field`, () => {
      const found = problems(edit(BASE));
      assert.ok(
        found.some((p) => p.startsWith("/etc/ferry/cluster.yaml:") && expected.test(p)),
        found.join("\n"),
      );
    });
  }

  it("reads an approval point, a component's approval, alarms with their defaults and a window", () => {
    const c = parseCluster(
      "/c.yaml",
      BASE.replace('run: "cfgupgrade --downgrade {{from}}"', 'approve: "go?"')
        .replace(
          "    actions:\n      - { name: reload",
          "    approve: after-first-batch\n    actions:\n      - { name: reload",
        )
        .concat(
          'alarms: { alertmanager: "http://127.0.0.1:9093/" }\nwindow: { start: "22:00", end: "02:00:30" }\n',
        ),
    );
    assert.equal(c.actions[1]?.approve, "go?");
    assert.equal(c.components[0]?.approve, "after-first-batch");
    assert.deepEqual(c.alarms, {
      alertmanager: "http://127.0.0.1:9093",
      ignore: [],
      deadlineMs: 30 * 60_000,
      intervalMs: 10_000,
    });
    assert.deepEqual(c.window, {
      days: ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
      start: "22:00",
      end: "02:00:30",
      timezone: "UTC",
    });
  });

  it("takes a var of the named host only from that host", () => {
    const ok = BASE.replace("host: active", "host: h2").replace("alembic current", "test -f {{vars.pid}}");
    assert.equal(parseCluster("/c.yaml", ok).actions[0]?.check, "test -f {{vars.pid}}");
  });

  it("knows {{kind}} and {{direction}} in hooks and component commands, not in probes", () => {
    const ok = `${BASE}hooks: { before: { roll: "notify {{kind}} {{direction}}" } }\n`.replace(
      "install: i",
      'install: "i {{kind}}"',
    );
    parseCluster("/c.yaml", ok);
    const bad = BASE.replace("version: v", 'version: "v {{direction}}"');
    assert.ok(
      problems(bad).some((p) =>
        /components\[0\]\.commands\.version: unknown placeholder \{\{direction\}\}/.test(p),
      ),
    );
  });
});
