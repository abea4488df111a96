/* The catalog pages: "Graph catalog" and "Connector catalog". A list with search, filter
   chips with counts (the API's $facets) and paging; each endpoint's sync state and "Sync
   now"; one entry's detail, with the graph drawn as SVG and a copyable DataflowGraph node.
   Everything goes through P.api (the ARM API, same origin, session cookie + CSRF header). */
"use strict";
(function (P) {
  const main = document.getElementById("main");
  const collection = main.dataset.collection;  // graphs | connectors
  const entry = main.dataset.entry;
  const SVG = "http://www.w3.org/2000/svg";
  const FACETS = collection === "graphs"
    ? [["endpoint", "Endpoint"], ["operationType", "Operation type"], ["module", "Module"],
       ["vendor", "Vendor"], ["signature", "Signature"]]
    : [["endpoint", "Endpoint"], ["endpointType", "Endpoint type"],
       ["architecture", "Architecture"], ["vendor", "Vendor"], ["signature", "Signature"]];
  // The endpoint's verdict on a digest (docs/trust.md): shown only where it was checked.
  function signatureNote(s) {
    if (!s) return null;
    if (s.badge === "Signed") return `Signed by ${s.signer || "a trusted CA"}`;
    if (s.badge === "Unsigned") return "Unsigned";
    if (s.badge === "InvalidSignature") return `Invalid signature (${s.code})`;
    return "Signature not checked";
  }
  const PAGE = 25;
  const state = { instance: "", filters: {}, search: "", latest: false, pages: [], next: null };

  const $ = (id) => document.getElementById(id);
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function instancePath() { return state.instance; }
  function entryLink(name) {
    const params = new URLSearchParams({ instance: state.instance });
    return `/catalog/${collection}/${encodeURIComponent(name)}?${params}`;
  }

  // --- instances and sync state ------------------------------------------------------------

  async function loadInstances() {
    const select = $("instance-select");
    const found = [];
    const r = await P.api.listAll(
      `/subscriptions/${encodeURIComponent(P.subscription)}/providers/Microsoft.IoTOperations/instances`,
      (values) => found.push(...values));
    select.replaceChildren();
    if (!r.ok || !found.length) {
      select.append(el("option", { value: "" }, r.ok ? "No instances" : P.api.describe(r.error)));
      return false;
    }
    const wanted = new URLSearchParams(location.search).get("instance");
    for (const inst of found) {
      const rg = inst.id.split("/")[4];
      select.append(el("option", { value: inst.id }, `${inst.name} (${rg})`));
    }
    select.value = found.some((i) => i.id === wanted) ? wanted : found[0].id;
    state.instance = select.value;
    return true;
  }

  function renderStatus(rows) {
    const body = $("sync-rows");
    body.replaceChildren();
    for (const s of rows) {
      const tr = el("tr", { "data-endpoint": s.endpoint });
      tr.append(el("th", { scope: "row" }, s.endpoint));
      const st = el("td", {}, s.syncing ? "Syncing" : s.state);
      st.className = "status status-" + String(s.state || "").toLowerCase();
      tr.append(st, el("td", {}, s.repositorySource || ""), el("td", {}, s.repositories ?? ""),
        el("td", {}, s.lastSyncTime || "never"), el("td", {}, s.stale ? "Stale" : "Fresh"),
        el("td", {}, (s.error && s.error.message) || ""));
      body.append(tr);
    }
  }

  async function loadStatus() {
    const r = await P.api.call("GET", `${instancePath()}/catalog/endpoints`);
    if (r.ok) renderStatus(r.data.value);
    else $("sync-status").textContent = P.api.describe(r.error);
  }

  async function syncNow() {
    const button = $("sync-now");
    button.disabled = true;
    $("sync-status").textContent = "Syncing…";
    const r = await P.api.call("POST", `${instancePath()}/catalog/sync`);
    button.disabled = false;
    if (!r.ok) {
      $("sync-status").textContent = P.api.describe(r.error);
      return;
    }
    renderStatus(r.data.value);
    $("sync-status").textContent = "Synced.";
    if (entry) await loadDetail(); else await loadList(null);
  }

  // --- the list ----------------------------------------------------------------------------

  function listUrl() {
    const params = new URLSearchParams({ "$top": String(PAGE), "$facets": "true" });
    if (state.search) params.set("search", state.search);
    if (state.latest) params.set("latest", "true");
    for (const [k, v] of Object.entries(state.filters)) params.set(k, v);
    return `${instancePath()}/catalog/${collection}?${params}`;
  }

  function renderChips(facets) {
    const box = $("chips");
    box.replaceChildren();
    for (const [facet, label] of FACETS) {
      const counts = (facets && facets[facet]) || {};
      const values = Object.keys(counts);
      if (!values.length) continue;
      const group = el("div", { class: "chip-group", role: "group", "aria-label": label });
      group.append(el("span", { class: "chip-group-label" }, label));
      for (const value of values) {
        const on = state.filters[facet] === value;
        const chip = el("button", {
          type: "button", class: "chip", "aria-pressed": on ? "true" : "false",
          "data-facet": facet, "data-value": value,
        }, `${value} (${counts[value]})`);
        chip.addEventListener("click", () => {
          if (on) delete state.filters[facet]; else state.filters[facet] = value;
          loadList(null);
        });
        group.append(chip);
      }
      box.append(group);
    }
  }

  const COLUMNS = collection === "graphs"
    ? ["Name", "Artifact", "Version", "Endpoint", "Operations", "Notes"]
    : ["Name", "Artifact", "Version", "Endpoint", "Endpoint types", "Architectures", "Notes"];

  function renderRows(values) {
    const head = $("catalog-head");
    head.replaceChildren();
    const hr = el("tr");
    for (const c of COLUMNS) hr.append(el("th", { scope: "col" }, c));
    head.append(hr);
    const body = $("catalog-rows");
    body.replaceChildren();
    for (const item of values) {
      const p = item.properties;
      const tr = el("tr", { "data-entry": item.name });
      const name = el("th", { scope: "row" });
      name.append(el("a", { href: entryLink(item.name) }, p.name || p.artifact));
      tr.append(name, el("td", {}, p.artifact), el("td", {}, p.version), el("td", {}, p.endpoint));
      if (collection === "graphs") {
        tr.append(el("td", {}, (p.operationTypes || []).join(", ")));
      } else {
        tr.append(el("td", {}, (p.endpointTypes || []).map((e) => e.endpointType).join(", ")),
          el("td", {}, (p.architectures || []).join(", ")));
      }
      const notes = [];
      if (p.stripped) notes.push("Media types stripped: not shown by IoT Operations");
      else if (p.valid === false) notes.push("Does not validate");
      if (p.latest) notes.push("Latest");
      const signed = signatureNote(p.signature);
      if (signed) notes.push(signed);
      const td = el("td", {}, notes.join(" · "));
      if (p.stripped || (p.signature && p.signature.badge !== "Signed")) {
        td.className = "warning-text";
      }
      tr.append(td);
      body.append(tr);
    }
  }

  async function loadList(url) {
    if (!state.instance) return;
    const target = url || listUrl();
    if (!url) state.pages = [];
    const r = await P.api.call("GET", target);
    if (!r.ok) {
      $("list-status").textContent = P.api.describe(r.error);
      return;
    }
    state.pages.push(target);
    state.next = r.data.nextLink || null;
    renderChips(r.data.facets);
    renderRows(r.data.value);
    const first = (state.pages.length - 1) * PAGE;
    $("list-status").textContent = r.data.count
      ? `${r.data.count} ${r.data.count === 1 ? "item" : "items"}`
      : "Nothing matches. Change the search or the filters, or sync the catalog.";
    $("page-info").textContent = r.data.count
      ? `${first + 1}–${first + r.data.value.length} of ${r.data.count}` : "";
    $("page-prev").disabled = state.pages.length < 2;
    $("page-next").disabled = !state.next;
  }

  // --- one entry ---------------------------------------------------------------------------

  function fact(list, term, value) {
    if (value === undefined || value === null || value === "") return;
    list.append(el("dt", {}, term), el("dd", {}, value));
  }

  /* Operations as boxes in columns by their distance from a source; connections as arrows;
     a branch's arms labelled True/False. */
  function drawGraph(ops, conns) {
    const W = 190, H = 46, GX = 70, GY = 26, M = 20;
    const depth = {};
    ops.forEach((o) => { depth[o.name] = 0; });
    for (let i = 0; i < ops.length; i++) {
      let moved = false;
      for (const c of conns) {
        if (c.from in depth && c.to in depth && depth[c.to] < depth[c.from] + 1 &&
            depth[c.from] + 1 < ops.length) {
          depth[c.to] = depth[c.from] + 1;
          moved = true;
        }
      }
      if (!moved) break;
    }
    const rows = {};
    const at = {};
    for (const o of ops) {
      const d = depth[o.name];
      rows[d] = (rows[d] || 0) + 1;
      at[o.name] = { x: M + d * (W + GX), y: M + (rows[d] - 1) * (H + GY) };
    }
    const width = M * 2 + (Math.max(0, ...Object.values(depth)) + 1) * (W + GX) - GX;
    const height = M * 2 + Math.max(1, ...Object.values(rows)) * (H + GY) - GY;
    const root = svg("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img",
                              "aria-label": `Graph of ${ops.length} operations and ` +
                              `${conns.length} connections` });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5,
                                   markerWidth: 8, markerHeight: 8, orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z" }));
    defs.append(marker);
    root.append(defs);
    for (const c of conns) {
      const a = at[c.from], b = at[c.to];
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      const mid = (x1 + x2) / 2;
      const path = svg("path", { class: "edge", "marker-end": "url(#arrow)",
                                 "data-from": c.from, "data-to": c.to,
                                 d: `M ${x1} ${y1} C ${mid} ${y1}, ${mid} ${y2}, ${x2} ${y2}` });
      path.append(svg("title", {}, `${c.from} → ${c.to}${c.arm ? ` (${c.arm})` : ""}`));
      root.append(path);
      if (c.arm) {
        // On the arm's own curve, halfway: the two arms of a branch never share a spot.
        root.append(svg("text", { class: "arm-label", x: mid - 12, y: (y1 + y2) / 2 - 5 },
                        c.arm));
      }
    }
    for (const o of ops) {
      const p = at[o.name];
      const g = svg("g", { class: "node", "data-name": o.name, transform: `translate(${p.x},${p.y})` });
      g.append(svg("rect", { width: W, height: H, rx: 4 }));
      g.append(svg("text", { x: 8, y: 18 }, o.name.length > 28 ? o.name.slice(0, 27) + "…" : o.name));
      const module = o.module ? ` · ${o.module.split("/").pop()}` : "";
      const sub = `${o.operationType}${module}`;
      g.append(svg("text", { class: "node-type", x: 8, y: 36 },
                   sub.length > 32 ? sub.slice(0, 31) + "…" : sub));
      g.append(svg("title", {}, `${o.name}: ${o.operationType}${o.module ? ", " + o.module : ""}`));
      root.append(g);
    }
    return root;
  }

  function nodeYaml(node) {
    const gs = node.graphSettings;
    const lines = [
      `- nodeType: ${node.nodeType}`,
      `  name: ${node.name}`,
      "  graphSettings:",
      `    registryEndpointRef: ${gs.registryEndpointRef}`,
      `    artifact: ${gs.artifact}`,
    ];
    if (!gs.configuration.length) lines.push("    configuration: []");
    else {
      lines.push("    configuration:");
      for (const c of gs.configuration) {
        lines.push(`      - key: ${c.key}`, `        value: ${JSON.stringify(c.value)}`);
      }
    }
    return lines.join("\n") + "\n";
  }

  async function loadDetail() {
    $("list-view").hidden = true;
    $("detail-view").hidden = false;
    const r = await P.api.call("GET", `${instancePath()}/catalog/${collection}/${entry}`);
    if (!r.ok) {
      $("detail-title").textContent = P.api.describe(r.error);
      return;
    }
    const p = r.data.properties;
    $("detail-title").textContent = `${p.name} ${p.version}`;
    $("crumb-entry").hidden = false;
    $("crumb-entry").textContent = p.artifact;
    const warnings = [...(p.warnings || [])];
    if (p.repushCommand) warnings.push(`Re-push it with: ${p.repushCommand}`);
    $("detail-warning").hidden = !warnings.length;
    $("detail-warning").textContent = warnings.join(" ");
    const facts = $("detail-facts");
    facts.replaceChildren();
    fact(facts, "Endpoint", p.endpoint);
    fact(facts, "Reference", p.reference);
    fact(facts, "Digest", p.digest);
    fact(facts, "Signature", signatureNote(p.signature));
    fact(facts, "Description", p.description);
    fact(facts, "Vendor", p.vendor);
    fact(facts, "Pushed", p.pushedAt);
    fact(facts, "Config media type", p.configMediaType);
    if (collection === "graphs") {
      fact(facts, "Runtime version", p.runtimeVersion);
      fact(facts, "Modules", (p.modules || []).join(", "));
      $("diagram-region").hidden = false;
      $("diagram").replaceChildren(drawGraph(p.operations || [], p.connections || []));
      const body = $("parameters").querySelector("tbody");
      body.replaceChildren();
      for (const q of p.parameters || []) {
        const tr = el("tr");
        tr.append(el("td", {}, q.operation), el("td", {}, q.key), el("td", {}, q.name),
          el("td", {}, q.required ? "Required" : "Optional"), el("td", {}, q.default ?? ""),
          el("td", {}, q.description ?? ""));
        body.append(tr);
      }
      $("parameters-region").hidden = !(p.parameters || []).length;
      $("snippet-region").hidden = false;
      $("snippet").textContent = nodeYaml(p.dataflowGraphNode);
    } else {
      fact(facts, "Endpoint types",
        (p.endpointTypes || []).map((e) => e.version ? `${e.endpointType} ${e.version}`
                                                     : e.endpointType).join(", "));
      fact(facts, "Architectures", (p.architectures || []).join(", "));
      fact(facts, "Image", p.image);
      fact(facts, "Preview", p.isPreview ? "Yes" : "No");
    }
    const versions = $("versions");
    versions.replaceChildren();
    for (const v of p.versions || []) {
      const li = el("li");
      li.append(el("a", { href: entryLink(v.name) }, `${v.tag}${v.latest ? " (latest)" : ""}`),
        document.createTextNode(` ${v.digest}`));
      versions.append(li);
    }
  }

  async function copySnippet() {
    const text = $("snippet").textContent;
    try {
      await navigator.clipboard.writeText(text);
      $("copy-status").textContent = "Copied.";
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents($("snippet"));
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      $("copy-status").textContent = document.execCommand("copy")
        ? "Copied." : "Select the snippet and copy it.";
    }
  }

  // --- start -------------------------------------------------------------------------------

  async function start() {
    let timer = null;
    $("catalog-search").addEventListener("input", (e) => {
      clearTimeout(timer);
      timer = setTimeout(() => { state.search = e.target.value.trim(); loadList(null); }, 250);
    });
    $("latest-only").addEventListener("change", (e) => {
      state.latest = e.target.checked;
      loadList(null);
    });
    $("page-next").addEventListener("click", () => { if (state.next) loadList(state.next); });
    $("page-prev").addEventListener("click", () => {
      if (state.pages.length < 2) return;
      state.pages.pop();
      loadList(state.pages.pop());
    });
    $("sync-now").addEventListener("click", syncNow);
    $("copy-snippet").addEventListener("click", copySnippet);
    $("instance-select").addEventListener("change", (e) => {
      state.instance = e.target.value;
      state.filters = {};
      loadStatus();
      if (entry) location.assign(`/catalog/${collection}?instance=${encodeURIComponent(state.instance)}`);
      else loadList(null);
    });
    if (!(await loadInstances())) return;
    await loadStatus();
    if (entry) await loadDetail(); else await loadList(null);
    main.dataset.ready = "true";
  }

  start();
})(window.IotopsPortal = window.IotopsPortal || {});
