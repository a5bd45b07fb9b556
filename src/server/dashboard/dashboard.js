// ferry's dashboard: reads the API, listens to /api/events, and redraws. Every text from the
// server goes into the page as text (textContent), never as markup.

const FINISHED = ["done", "rolled-back"];
/** Distinct tints for versions, in catalog order; neighbours differ clearly. */
const PALETTE = ["#6c7fd8", "#2e9d8f", "#c26bc8", "#e08a2d", "#4a9d3f", "#d0566c", "#3a8fc7", "#a8892b"];

const state = {
  status: null,
  releases: [],
  runs: [],
  detail: null,
  /** The run shown; with followLatest, the newest one as runs come and go. */
  runId: null,
  followLatest: true,
  stepId: null,
  /** Phases opened or closed by hand; a running phase opens by itself otherwise. */
  opened: new Set(),
  closed: new Set(),
};

const $ = (id) => document.getElementById(id);

/** An element with properties, attributes (`attrs`) and children (strings become text). */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { attrs, dataset, style, ...rest } = props;
  Object.assign(node, rest);
  for (const [k, v] of Object.entries(attrs ?? {})) node.setAttribute(k, String(v));
  for (const [k, v] of Object.entries(dataset ?? {})) node.dataset[k] = String(v);
  for (const [k, v] of Object.entries(style ?? {})) node.style.setProperty(k, v);
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, options = {}) {
  const headers = {
    Accept: "application/json",
    ...(options.body ? { "Content-Type": "application/json" } : {}),
  };
  const token = $("token").value.trim();
  if (options.method === "POST" && token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const hint = response.status === 401 ? " (enter the API token that ferry serve printed)" : "";
    throw new Error(`${body.error ?? `${response.status} ${response.statusText}`}${hint}`);
  }
  return body;
}

/** Calls fn at most once per `ms`, and once more after a burst. */
function throttle(fn, ms) {
  let timer = null;
  let again = false;
  const run = () => {
    timer = setTimeout(() => {
      timer = null;
      if (again) {
        again = false;
        fn();
        run();
      }
    }, ms);
  };
  return () => {
    if (timer) {
      again = true;
      return;
    }
    fn();
    run();
  };
}

function say(text, isError = false) {
  const m = $("message");
  m.textContent = text;
  m.classList.toggle("error", isError);
}

function fail(err) {
  say(err instanceof Error ? err.message : String(err), true);
}

const time = (iso) => (iso ? new Date(iso).toLocaleTimeString() : "–");
const seconds = (ms) => (ms === null || ms === undefined ? "" : `${(ms / 1000).toFixed(1)} s`);
const stateLabel = (s) => el("span", { className: `state state-${s}` }, s);

function versionColour(version) {
  const i = state.releases.indexOf(version);
  return i < 0 ? "#a0a7b4" : PALETTE[i % PALETTE.length];
}

// --- data -------------------------------------------------------------------------------------

async function loadStatus() {
  try {
    state.status = await api("api/status");
    renderCluster();
    renderControls();
  } catch (err) {
    fail(err);
  }
}

async function loadRuns() {
  try {
    state.runs = await api("api/runs");
    if (state.followLatest) state.runId = state.runs[0]?.id ?? null;
    renderHistory();
    await loadDetail();
  } catch (err) {
    fail(err);
  }
}

async function loadDetail() {
  if (!state.runId) {
    state.detail = null;
  } else {
    state.detail = await api(`api/runs/${encodeURIComponent(state.runId)}`);
  }
  renderRun();
  renderLog();
  await loadGantt();
}

/** The run's timeline as `ferry report` draws it: an SVG of ferry's own making, redrawn as the run goes. */
async function loadGantt() {
  const box = $("gantt");
  if (!state.runId) {
    box.replaceChildren();
    return;
  }
  const reply = await fetch(`api/runs/${encodeURIComponent(state.runId)}/timeline`);
  if (!reply.ok) return;
  box.innerHTML = await reply.text();
}

const refreshStatus = throttle(() => void loadStatus(), 1000);
const refreshDetail = throttle(() => void loadDetail().catch(fail), 1500);

// --- the cluster grid -------------------------------------------------------------------------

function renderCluster() {
  const s = state.status;
  if (!s) return;
  $("cluster-name").textContent = s.cluster;
  document.title = `ferry · ${s.cluster}`;
  $("cluster-version").textContent = s.version ?? (s.mixed ? "mixed versions" : "version unknown");

  const hosts = [...new Set(s.members.map((m) => m.host))];
  const components = [...new Set(s.members.map((m) => m.component))];
  const at = new Map(s.members.map((m) => [`${m.host}\u0000${m.component}`, m]));
  const head = el(
    "thead",
    {},
    el(
      "tr",
      {},
      el("th", {}, "host"),
      components.map((c) => el("th", {}, c)),
    ),
  );
  const rows = hosts.map((h) =>
    el(
      "tr",
      {},
      el("th", { attrs: { scope: "row" } }, h),
      components.map((c) => {
        const m = at.get(`${h}\u0000${c}`);
        if (!m) return el("td", { className: "none" }, "—");
        const health = m.healthy === null ? "unknown" : m.healthy ? "healthy" : "unhealthy";
        return el(
          "td",
          {
            className: `cell${m.healthy === false ? " unhealthy" : ""}`,
            title: `${c} on ${h}: ${m.version ?? "version unknown"}, ${health}${m.error ? ` (${m.error})` : ""}`,
            dataset: { host: h, component: c, version: m.version ?? "" },
            style: { "--version": versionColour(m.version) },
          },
          el("span", { className: `dot ${health}` }),
          m.version ?? "?",
        );
      }),
    ),
  );
  $("grid").replaceChildren(head, el("tbody", {}, rows));

  const versions = [...new Set(s.members.map((m) => m.version).filter(Boolean))].sort(
    (a, b) => state.releases.indexOf(a) - state.releases.indexOf(b),
  );
  $("legend").replaceChildren(
    ...versions.map((v) =>
      el("li", {}, el("span", { className: "swatch", style: { "--version": versionColour(v) } }), v),
    ),
    el("li", {}, el("span", { className: "dot healthy" }), "healthy"),
    el("li", {}, el("span", { className: "dot unhealthy" }), "unhealthy"),
  );
}

// --- controls ---------------------------------------------------------------------------------

function renderControls() {
  const open = state.status?.run ?? null;
  const driven = open?.heldBy ?? null;
  $("start").disabled = open !== null;
  $("pause").disabled = !(open && open.status === "running" && driven);
  const awaiting = open?.waiting?.for === "approval";
  $("approve").disabled = !awaiting;
  $("reject").disabled = !(awaiting && !open.pastPointOfNoReturn);
  $("resume").disabled = !(open && !driven);
  $("rollback").disabled = !(open && !driven);
}

async function act(op) {
  const open = state.status?.run;
  if (!open) return;
  if (op === "rollback" && !window.confirm(`Roll back run ${open.id}?`)) return;
  if (op === "reject" && !window.confirm(`Reject the approval of run ${open.id}? Its hop rolls back.`))
    return;
  try {
    const answer = await api(`api/runs/${encodeURIComponent(open.id)}/${op}`, { method: "POST" });
    say(answer.message ?? `${op}: run ${answer.runId ?? open.id}`);
    state.followLatest = true;
    state.runId = open.id;
    await Promise.all([loadStatus(), loadRuns()]);
  } catch (err) {
    fail(err);
  }
}

async function start(event) {
  event.preventDefault();
  const to = $("target").value.trim();
  sessionStorage.setItem("ferry-token", $("token").value.trim());
  try {
    const answer = await api("api/runs", { method: "POST", body: JSON.stringify({ to }) });
    if (answer.runId) {
      say(`run ${answer.runId} started: upgrading to ${to}`);
      state.followLatest = true;
      state.runId = answer.runId;
    } else {
      say(answer.message ?? "nothing to do");
    }
    await Promise.all([loadStatus(), loadRuns()]);
  } catch (err) {
    fail(err);
  }
}

// --- the run: summary, current step, timeline -------------------------------------------------

function phaseState(steps) {
  const has = (s) => steps.some((x) => x.state === s);
  if (has("failed")) return "failed";
  if (has("running")) return "running";
  if (has("undoing")) return "undoing";
  if (has("undone")) return "undone";
  if (steps.length > 0 && steps.every((x) => x.state === "done")) return "done";
  if (has("done")) return "partial";
  return "pending";
}

/** Per gate step, its latest attempt's measurements: verdict and value, the detail on hover. */
function gateRows(measurements) {
  const byStep = new Map();
  for (const m of measurements) byStep.set(m.step, [...(byStep.get(m.step) ?? []), m]);
  return [...byStep].map(([step, all]) => {
    const last = Math.max(...all.map((m) => m.attempt));
    const shown = all.filter((m) => m.attempt === last);
    return el(
      "div",
      { className: "gate", dataset: { gate: step } },
      el("strong", {}, `gate ${step.split("/").slice(2).join("/")}: `),
      shown.map((m) =>
        el(
          "span",
          {
            className: `measurement state-${m.verdict === "pass" ? "done" : m.verdict === "fail" ? "failed" : "paused"}`,
            title: `${time(m.at)}: ${m.detail}`,
            dataset: { verdict: m.verdict },
          },
          `${m.verdict} ${m.value ?? "—"} `,
        ),
      ),
    );
  });
}

function renderRun() {
  const d = state.detail;
  if (!d) {
    $("run-title").textContent = "";
    $("run-summary").textContent = "no run yet";
    $("current").replaceChildren();
    $("timeline").replaceChildren();
    return;
  }
  const r = d.run;
  const stepsById = new Map(d.steps.map((s) => [s.id, s]));
  const doneCount = d.steps.filter((s) => s.state === "done").length;
  $("run-title").textContent = r.id;
  $("run-summary").replaceChildren(
    el("span", { className: `state state-${r.status}`, dataset: { runStatus: r.status } }, r.status),
    ` · ${r.from} → ${r.to} through ${r.path.join(" → ")} · ${doneCount} of ${d.steps.length} steps done`,
    ` · started ${time(r.startedAt)} by ${r.startedBy}`,
    r.durationS === null ? "" : ` · took ${r.durationS} s`,
  );

  const running = d.steps.filter((s) => s.state === "running" || s.state === "undoing");
  const current = [];
  if (running.length > 0) current.push(el("strong", {}, "now: "), running.map((s) => s.id).join(", "));
  if (r.waiting)
    current.push(
      el(
        "div",
        { className: "waiting", dataset: { waitingFor: r.waiting.for } },
        el("strong", {}, `waiting for ${r.waiting.for}`),
        ` since ${time(r.waiting.since)}: ${r.waiting.detail}`,
      ),
    );
  for (const n of r.notes ?? []) {
    if (n.kind === "approved" || n.kind === "rejected")
      current.push(
        el("div", { className: "muted" }, `${n.kind} by ${n.by} at ${time(n.at)}: ${n.step ?? ""}`),
      );
  }
  if (r.pauseRequestedBy && r.status === "running")
    current.push(el("div", {}, `pause requested by ${r.pauseRequestedBy}`));
  if (r.error && !FINISHED.includes(r.status))
    current.push(el("div", { className: "state-failed" }, r.error));
  else if (r.error && r.status === "rolled-back") current.push(el("div", {}, r.error));
  current.push(...gateRows(r.measurements ?? []));
  $("current").replaceChildren(...current);

  const hops = d.hops.map((hop) => {
    const phases = hop.phases.map((phase) => {
      const steps = phase.steps.map((id) => stepsById.get(id)).filter(Boolean);
      const st = phaseState(steps);
      const open = state.opened.has(phase.id) || (st === "running" && !state.closed.has(phase.id));
      return { phase, steps, st, open };
    });
    const chips = phases.map(({ phase, steps, st, open }) => {
      const done = steps.filter((s) => s.state === "done").length;
      return el(
        "button",
        {
          type: "button",
          className: "phase",
          dataset: { state: st, phase: phase.id },
          attrs: { "aria-expanded": open },
          style: { "--progress": `${steps.length ? (100 * done) / steps.length : 0}%` },
          onclick: () => {
            if (open) {
              state.opened.delete(phase.id);
              state.closed.add(phase.id);
            } else {
              state.closed.delete(phase.id);
              state.opened.add(phase.id);
            }
            renderRun();
          },
        },
        el("span", { className: "name" }, phase.name),
        el("span", { className: "count" }, `${done}/${steps.length} · ${st}`),
        el("span", { className: "fill" }),
      );
    });
    const lists = phases
      .filter(({ open }) => open)
      .map(({ phase, steps }) =>
        el(
          "ul",
          { className: "steps", attrs: { "aria-label": `steps of ${phase.id}` } },
          steps.map((s) =>
            el(
              "li",
              {},
              el(
                "button",
                {
                  type: "button",
                  dataset: { step: s.id },
                  attrs: { "aria-pressed": s.id === state.stepId },
                  onclick: () => {
                    state.stepId = s.id;
                    renderRun();
                    renderLog();
                  },
                },
                stateLabel(s.state),
                // A step outside its phase's path (the point of no return inside the roll) keeps its whole id.
                el("span", {}, s.id.startsWith(`${phase.id}/`) ? s.id.slice(phase.id.length + 1) : s.id),
                el("span", { className: "took" }, seconds(s.durationMs)),
              ),
            ),
          ),
        ),
      );
    return el(
      "div",
      { className: "hop" },
      el(
        "div",
        { className: "hop-title" },
        `${hop.from} → ${hop.to} `,
        el("span", { className: "muted" }, `${hop.kind} · ${hop.mode}`),
      ),
      el("div", { className: "phases" }, chips),
      lists,
    );
  });
  $("timeline").replaceChildren(...hops);
}

// --- a step's log -----------------------------------------------------------------------------

function renderLog() {
  const step = state.detail?.steps.find((s) => s.id === state.stepId);
  $("log").hidden = !step;
  if (!step) return;
  $("log-step").textContent = step.id;
  const meta = [
    ["state", stateLabel(step.state)],
    ["where", [step.component, step.host].filter(Boolean).join(" on ") || "this machine"],
    ["started", time(step.startedAt)],
    ["ended", time(step.endedAt)],
    ["took", seconds(step.durationMs) || "–"],
    ["exit code", step.exitCode ?? "–"],
    ["attempts", step.attempts],
  ];
  if (step.error) meta.push(["error", step.error]);
  $("log-meta").replaceChildren(...meta.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  $("log-output").textContent = step.output || "(no output)";
}

// --- history ----------------------------------------------------------------------------------

function renderHistory() {
  const head = el(
    "thead",
    {},
    el(
      "tr",
      {},
      ["run", "from → to", "status", "started", "took", "by"].map((h) => el("th", {}, h)),
    ),
  );
  const rows = state.runs.map((r) =>
    el(
      "tr",
      {
        dataset: { run: r.id },
        attrs: { "aria-selected": r.id === state.runId },
        onclick: () => {
          state.runId = r.id;
          state.followLatest = r.id === state.runs[0]?.id;
          state.stepId = null;
          renderHistory();
          void loadDetail().catch(fail);
        },
      },
      el("td", {}, el("code", {}, r.id)),
      el("td", {}, `${r.from} → ${r.to}`),
      el("td", {}, stateLabel(r.status)),
      el("td", {}, new Date(r.startedAt).toLocaleString()),
      el("td", {}, r.durationS === null ? "–" : `${r.durationS} s`),
      el("td", {}, r.startedBy),
    ),
  );
  $("runs").replaceChildren(
    head,
    el("tbody", {}, rows.length ? rows : el("tr", {}, el("td", { colSpan: 6 }, "no runs yet"))),
  );
}

// --- the live feed ----------------------------------------------------------------------------

function onStep(event) {
  const step =
    state.detail?.run.id === event.runId ? state.detail.steps.find((s) => s.id === event.id) : undefined;
  if (step) {
    step.state = event.state;
    if (event.durationMs !== undefined) step.durationMs = event.durationMs;
    if (event.error) step.error = event.error;
    renderRun();
    if (state.stepId === event.id) renderLog();
  }
  refreshDetail();
  if (event.state === "done" || event.state === "undone") refreshStatus();
}

function onOutput(event) {
  if (event.id !== state.stepId || state.detail?.run.id !== event.runId) return;
  const pre = $("log-output");
  if (pre.textContent === "(no output)") pre.textContent = "";
  pre.textContent += event.text;
  pre.scrollTop = pre.scrollHeight;
}

function connect() {
  const source = new EventSource("api/events");
  const live = $("live");
  source.addEventListener("hello", () => {
    live.dataset.state = "live";
    live.textContent = "live";
    // Whatever happened while the stream was down.
    void loadStatus();
    void loadRuns();
  });
  source.addEventListener("error", () => {
    live.dataset.state = "connecting";
    live.textContent = "reconnecting";
  });
  source.addEventListener("run", (e) => {
    const event = JSON.parse(e.data);
    if (state.followLatest) state.runId = event.runId;
    if (event.status !== "running")
      say(`run ${event.runId} ${event.status}${event.message ? `: ${event.message}` : ""}`);
    void loadRuns();
    refreshStatus();
    if (event.status === "paused" || FINISHED.includes(event.status)) void loadStatus();
  });
  source.addEventListener("step", (e) => onStep(JSON.parse(e.data)));
  source.addEventListener("output", (e) => onOutput(JSON.parse(e.data)));
  source.addEventListener("note", (e) => say(JSON.parse(e.data).message));
  source.addEventListener("measurement", () => refreshDetail());
  for (const type of ["wait", "wait-ended"]) {
    source.addEventListener(type, (e) => {
      const event = JSON.parse(e.data);
      const w = event.waiting;
      say(
        type === "wait"
          ? `waiting for ${w.for}: ${w.detail}`
          : `no longer waiting for ${w.for}: ${event.how}`,
      );
      void loadStatus();
      refreshDetail();
    });
  }
}

async function main() {
  $("token").value = sessionStorage.getItem("ferry-token") ?? "";
  $("start-form").addEventListener("submit", start);
  for (const op of ["approve", "reject", "pause", "resume", "rollback"])
    $(op).addEventListener("click", () => void act(op));
  try {
    const catalog = await api("api/catalog");
    state.releases = catalog.releases;
    $("releases").replaceChildren(...catalog.releases.map((v) => el("option", { value: v })));
  } catch (err) {
    fail(err);
  }
  renderHistory();
  connect();
}

void main();
