// The fleet view of `ferry serve -f fleet.yaml`: the newest fleet run from GET /api/fleet, read
// again every 2 s; a click on a cluster opens its own run (its runUrl). Text goes in as text only:
// what clusters and hosts printed never becomes markup.

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("data-")) node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c ?? "")));
  return node;
};

let opened = null; // { cluster, runUrl }

function countsText(counts) {
  return Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
}

function render(data) {
  $("fleet-name").textContent = data.fleet;
  const run = data.run;
  if (!run) {
    $("fleet-status").textContent = "";
    $("fleet-summary").textContent = `no fleet run yet (${data.clusters} clusters in the fleet file)`;
    $("group-list").replaceChildren();
    return;
  }
  $("fleet-status").textContent = run.status;
  $("fleet-status").className = `badge state-${run.status}`;
  $("fleet-summary").textContent =
    `run ${run.fleetRunId} to ${run.target}, started by ${run.createdBy}` +
    ` — at most ${run.strategy.maxParallel} at once, stops after ${run.strategy.maxFailures} failed` +
    (run.reason ? ` — ${run.reason}` : "");
  $("fleet-counts").replaceChildren(
    ...Object.entries(run.counts)
      .filter(([, n]) => n > 0)
      .map(([state, n]) => el("li", { class: `state-${state}`, "data-state": state }, `${n} ${state}`)),
  );
  $("fleet-failures").replaceChildren(
    ...(run.failures.length
      ? [
          el("h3", {}, "Failures"),
          el(
            "ul",
            { id: "failure-list" },
            ...run.failures.map((f) =>
              el("li", {}, clusterLink(f.cluster, f.runUrl), ` (${f.group}) ${f.state}: ${f.error ?? ""}`),
            ),
          ),
        ]
      : []),
  );
  $("group-list").replaceChildren(
    ...run.groups.map((g) =>
      el(
        "div",
        { class: "group", "data-group": g.name },
        el("h3", {}, `${g.name} `, el("span", { class: "muted" }, countsText(g.counts) || "no cluster")),
        el(
          "table",
          { class: "steps" },
          el("tr", {}, ...["cluster", "state", "version", "worker", "failure"].map((h) => el("th", {}, h))),
          ...g.clusters.map((c) =>
            el(
              "tr",
              { "data-cluster": c.cluster },
              el("td", {}, clusterLink(c.cluster, c.runUrl)),
              el("td", { class: `state state-${c.state}` }, c.state),
              el("td", {}, c.version ?? ""),
              el("td", {}, c.state === "claimed" || c.state === "running" ? (c.worker ?? "") : ""),
              el("td", {}, c.error ?? ""),
            ),
          ),
        ),
      ),
    ),
  );
}

function clusterLink(name, runUrl) {
  if (!runUrl) return el("span", {}, name);
  const a = el("a", { href: `#cluster=${encodeURIComponent(name)}` }, name);
  a.addEventListener("click", (e) => {
    e.preventDefault();
    opened = { cluster: name, runUrl };
    void showRun();
  });
  return a;
}

async function showRun() {
  if (!opened) return;
  const res = await fetch(opened.runUrl);
  const section = $("cluster-run");
  section.hidden = false;
  $("run-cluster").textContent = opened.cluster;
  if (!res.ok) {
    $("run-summary").textContent = (await res.json()).error;
    $("run-steps").replaceChildren();
    return;
  }
  const detail = await res.json();
  $("run-status").textContent = detail.run.status;
  $("run-status").className = `badge state-${detail.run.status}`;
  $("run-summary").textContent = `run ${detail.run.id}: ${detail.run.from} → ${detail.run.to}`;
  $("run-steps").replaceChildren(
    el("tr", {}, ...["step", "state", "host", "seconds", "error"].map((h) => el("th", {}, h))),
    ...detail.steps.map((s) =>
      el(
        "tr",
        { "data-step": s.id },
        el("td", {}, s.id),
        el("td", { class: `state state-${s.state}` }, s.state),
        el("td", {}, s.host ?? ""),
        el("td", {}, s.durationMs === null ? "" : (s.durationMs / 1000).toFixed(1)),
        el("td", {}, s.error ?? ""),
      ),
    ),
  );
}

async function refresh() {
  try {
    const res = await fetch("/api/fleet");
    render(await res.json());
    if (opened) await showRun();
    $("live").dataset.state = "live";
    $("live").textContent = "live";
  } catch {
    $("live").dataset.state = "offline";
    $("live").textContent = "offline";
  }
}

await refresh();
setInterval(refresh, 2000);
