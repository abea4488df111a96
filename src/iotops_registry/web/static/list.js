/* The instance picker and the registry endpoints list: all pages fetched progressively,
   then sorted, filtered, searched and paged in the browser; only one page is in the DOM. */
"use strict";
(function (P) {
  const { el, formatDate, methodLabel } = P.ui;
  const FETCH_PAGE = 250;
  const $ = (id) => document.getElementById(id);

  const state = {
    instances: [],
    instance: null,
    items: [],
    loading: false,
    generation: 0,
    sortKey: "name",
    sortDir: 1,
    search: "",
    method: "",
    health: "",
    page: 0,
    pageSize: 50,
    renderQueued: false,
  };

  function rgOf(id) {
    const m = /\/resourceGroups\/([^/]+)\//i.exec(id || "");
    return m ? decodeURIComponent(m[1]) : "";
  }

  function sortValue(item, key) {
    const props = item.properties || {};
    switch (key) {
      case "host": return (props.host || "").toLowerCase();
      case "method": return methodLabel((props.authentication || {}).method).toLowerCase();
      case "provisioning": return (props.provisioningState || "").toLowerCase();
      case "health": return (props.healthState || "").toLowerCase();
      case "modified": return ((item.systemData || {}).lastModifiedAt) || "";
      default: return (item.name || "").toLowerCase();
    }
  }

  function visibleItems() {
    const needle = state.search.trim().toLowerCase();
    const rows = state.items.filter((item) => {
      const props = item.properties || {};
      if (state.method && (props.authentication || {}).method !== state.method) return false;
      if (state.health && (props.healthState || "Unknown") !== state.health) return false;
      if (needle && !(item.name || "").toLowerCase().includes(needle) &&
          !(props.host || "").toLowerCase().includes(needle)) return false;
      return true;
    });
    const key = state.sortKey;
    const dir = state.sortDir;
    rows.sort((a, b) => {
      const x = sortValue(a, key);
      const y = sortValue(b, key);
      if (x !== y) return x < y ? -dir : dir;
      return (a.name || "") < (b.name || "") ? -1 : 1;
    });
    return rows;
  }

  function healthCell(props) {
    const health = props.healthState || "Unknown";
    const message = props.healthStatus && props.healthStatus.message;
    return el("td", { "data-label": "Health" },
      el("span", { class: `status status-${health.toLowerCase()}` }, health),
      message ? el("span", { class: "cell-note", text: message }) : null);
  }

  function row(item) {
    const props = item.properties || {};
    const name = item.name || "";
    const modified = (item.systemData || {}).lastModifiedAt || "";
    const provisioning = props.provisioningState || "";
    const action = (label, aria, kind, cls) => el("button", {
      type: "button", class: `row-action ${cls || ""}`, "aria-label": aria,
      "data-action": kind, "data-id": item.id,
    }, label);
    return el("tr", { "data-name": name },
      el("th", { scope: "row", "data-label": "Name" },
        el("button", {
          type: "button", class: "link", "data-action": "details", "data-id": item.id,
          "aria-label": `${name} details`,
        }, name)),
      el("td", { "data-label": "Host", class: "mono" }, props.host || ""),
      el("td", { "data-label": "Authentication method" },
        methodLabel((props.authentication || {}).method)),
      el("td", { "data-label": "Provisioning state" },
        el("span", { class: `status status-${provisioning.toLowerCase()}` }, provisioning)),
      healthCell(props),
      el("td", { "data-label": "Last modified" },
        modified ? el("time", { datetime: modified, title: modified }, formatDate(modified))
          : ""),
      el("td", { class: "actions", "data-label": "Actions" },
        action("Details", `Details of ${name}`, "details"),
        action("Edit", `Edit ${name}`, "edit"),
        action("Test", `Test connection to ${name}`, "test"),
        action("Delete", `Delete ${name}`, "delete", "danger-text")));
  }

  function render() {
    state.renderQueued = false;
    const rows = visibleItems();
    const pages = Math.max(1, Math.ceil(rows.length / state.pageSize));
    state.page = Math.min(state.page, pages - 1);
    const start = state.page * state.pageSize;
    const shown = rows.slice(start, start + state.pageSize);
    $("endpoint-rows").replaceChildren(...shown.map(row));

    const total = state.items.length;
    const empty = !state.loading && total === 0 && state.instance !== null;
    $("empty-state").hidden = !empty;
    $("table-region").hidden = empty;
    $("pager").hidden = empty;
    const fmt = (n) => n.toLocaleString();
    let status;
    if (state.instance === null) status = "";
    else if (state.loading) status = `Loading registry endpoints… ${fmt(total)} so far.`;
    else if (total === 0) status = "This instance has no registry endpoints.";
    else if (rows.length === total) {
      status = `${fmt(total)} registry endpoint${total === 1 ? "" : "s"}.`;
    }
    else status = `${fmt(rows.length)} of ${fmt(total)} registry endpoints match.`;
    $("list-status").textContent = status;
    let info = "";
    if (total > 0 && rows.length === 0) info = "No registry endpoints match the filter.";
    else if (total > 0) {
      info = `${fmt(start + 1)}–${fmt(start + shown.length)} of ${fmt(rows.length)}` +
        ` · page ${state.page + 1} of ${pages}`;
    }
    $("page-info").textContent = info;
    $("page-prev").disabled = state.page === 0;
    $("page-next").disabled = state.page >= pages - 1;
    for (const th of document.querySelectorAll("#endpoints th[data-sort]")) {
      const active = th.dataset.sort === state.sortKey;
      th.setAttribute("aria-sort", active ? (state.sortDir > 0 ? "ascending" : "descending")
        : "none");
    }
  }

  function queueRender() {
    if (state.renderQueued) return;
    state.renderQueued = true;
    requestAnimationFrame(render);
  }

  async function loadEndpoints() {
    const generation = ++state.generation;
    state.items = [];
    state.page = 0;
    if (!state.instance) {
      render();
      return;
    }
    state.loading = true;
    render();
    const result = await P.api.listAll(`${state.instance.id}/registryEndpoints`, (values) => {
      if (generation !== state.generation) return;
      state.items.push(...values);
      queueRender();
    }, () => generation === state.generation, FETCH_PAGE, P.api.EXPAND);
    if (generation !== state.generation) return;
    state.loading = false;
    if (!result.ok) {
      P.ui.notify(`Could not list registry endpoints: ${P.api.describe(result.error)}`, "error");
    }
    render();
  }

  function instanceFromHash() {
    const m = /instance=([^&]+)/.exec(location.hash);
    return m ? decodeURIComponent(m[1]).toLowerCase() : null;
  }

  function selectInstance(id) {
    state.instance = state.instances.find((i) => i.id.toLowerCase() === (id || "").toLowerCase())
      || null;
    if (state.instance) {
      history.replaceState(null, "", `#instance=${encodeURIComponent(state.instance.id)}`);
    }
    $("cmd-create").disabled = !state.instance;
    $("empty-create").disabled = !state.instance;
    loadEndpoints();
  }

  async function loadInstances() {
    const select = $("instance-select");
    const status = $("instance-status");
    if (!P.subscription) {
      $("subscription-form").hidden = false;
      select.replaceChildren(el("option", { value: "" }, "Enter a subscription ID"));
      return;
    }
    state.instances = [];
    const result = await P.api.listAll(
      `/subscriptions/${encodeURIComponent(P.subscription)}` +
        "/providers/Microsoft.IoTOperations/instances",
      (values) => { state.instances.push(...values); }, null, 1000);
    if (!result.ok) {
      status.textContent = `Could not list instances: ${P.api.describe(result.error)}`;
      select.replaceChildren(el("option", { value: "" }, "No instances"));
      selectInstance(null);
      return;
    }
    state.instances.sort((a, b) => (a.name + rgOf(a.id)).localeCompare(b.name + rgOf(b.id)));
    if (state.instances.length === 0) {
      select.replaceChildren(el("option", { value: "" }, "No instances"));
      status.textContent = "This subscription has no IoT Operations instances. " +
        "Create one with: iotops instance create";
      selectInstance(null);
      return;
    }
    select.replaceChildren(...state.instances.map((i) =>
      el("option", { value: i.id }, `${i.name} (${rgOf(i.id)})`)));
    status.textContent = `${state.instances.length.toLocaleString()} instance` +
      `${state.instances.length === 1 ? "" : "s"}`;
    const wanted = instanceFromHash();
    const chosen = state.instances.find((i) => i.id.toLowerCase() === wanted) ||
      state.instances[0];
    select.value = chosen.id;
    selectInstance(chosen.id);
  }

  function find(id) {
    const key = (id || "").toLowerCase();
    return state.items.find((i) => (i.id || "").toLowerCase() === key) || null;
  }

  function upsert(doc) {
    const key = (doc.id || "").toLowerCase();
    const at = state.items.findIndex((i) => (i.id || "").toLowerCase() === key);
    if (at >= 0) state.items[at] = doc;
    else state.items.push(doc);
    render();
  }

  // The server checks a new or changed endpoint in the background: follow its health until
  // it leaves Unknown (or give up after ~30 s), so the list shows the verdict.
  async function watchHealth(id) {
    for (let i = 0; i < 30; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const r = await P.api.call("GET", `${id}?$expand=${P.api.EXPAND}`);
      if (!r.ok || !r.data) return;
      const current = find(id);
      if (!current) return;
      if ((r.data.properties || {}).healthState !== "Unknown" ||
          ((r.data.properties || {}).healthStatus || {}).lastCheckedTime) {
        upsert(r.data);
        return;
      }
    }
  }

  function remove(id) {
    const key = (id || "").toLowerCase();
    state.items = state.items.filter((i) => (i.id || "").toLowerCase() !== key);
    render();
  }

  function init() {
    $("instance-select").addEventListener("change", (e) => selectInstance(e.target.value));
    $("cmd-refresh").addEventListener("click", () => loadEndpoints());
    $("search").addEventListener("input", (e) => {
      state.search = e.target.value;
      state.page = 0;
      render();
    });
    $("filter-method").addEventListener("change", (e) => {
      state.method = e.target.value;
      state.page = 0;
      render();
    });
    $("filter-health").addEventListener("change", (e) => {
      state.health = e.target.value;
      state.page = 0;
      render();
    });
    $("page-size").addEventListener("change", (e) => {
      state.pageSize = Number(e.target.value) || 50;
      state.page = 0;
      render();
    });
    $("page-prev").addEventListener("click", () => {
      state.page = Math.max(0, state.page - 1);
      render();
    });
    $("page-next").addEventListener("click", () => {
      state.page += 1;
      render();
    });
    for (const th of document.querySelectorAll("#endpoints th[data-sort]")) {
      th.querySelector("button").addEventListener("click", () => {
        const key = th.dataset.sort;
        state.sortDir = state.sortKey === key ? -state.sortDir : 1;
        state.sortKey = key;
        render();
      });
    }
    $("subscription-form").addEventListener("submit", (e) => {
      e.preventDefault();
      P.subscription = $("subscription-input").value.trim();
      $("subscription-id").textContent = P.subscription;
      loadInstances();
    });
    $("cmd-create").disabled = true;
    $("empty-create").disabled = true;
    loadInstances();
  }

  P.list = {
    init, find, upsert, remove, watchHealth, reload: loadEndpoints, state,
    current: () => state.instance,
    isLoading: () => state.loading,
  };
})(window.IotopsPortal = window.IotopsPortal || {});
