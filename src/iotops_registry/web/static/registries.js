/* "Select a registry" in the wizard's Basics step: the container registries the resource
   provider knows (Microsoft.ContainerRegistry/registries under the subscription: the dev
   registry, registered ones, the hosts of endpoints). Selecting one fills the host name;
   typing a host keeps working for any other registry, and clears a selection it no longer
   matches. */
"use strict";
(function (P) {
  const { el } = P.ui;
  const $ = (id) => document.getElementById(id);
  const API = "2023-07-01";
  let known = [];

  function fill() {
    const select = $("f-registry");
    const options = known.map((r) => el("option", { value: r.properties.loginServer },
      `${r.name} (${r.properties.loginServer})`));
    select.replaceChildren(el("option", { value: "" }, "Type a host name above"), ...options);
    sync();
  }

  /* Keep the select showing the registry the host names, if it is one of them. */
  function sync() {
    const host = $("f-host").value.trim().toLowerCase().split("/")[0];
    const match = known.find((r) => r.properties.loginServer.toLowerCase() === host);
    $("f-registry").value = match ? match.properties.loginServer : "";
  }

  async function load() {
    known = [];
    fill();
    if (!P.subscription) return;
    const path = `/subscriptions/${encodeURIComponent(P.subscription)}` +
      `/providers/Microsoft.ContainerRegistry/registries?api-version=${API}`;
    const r = await P.api.call("GET", path);
    if (!r.ok) {
      $("f-registry-help").textContent =
        `Could not list registries: ${P.api.describe(r.error)}. Type the host name.`;
      return;
    }
    known = ((r.data && r.data.value) || []).filter((x) => x.properties &&
      x.properties.loginServer).sort((a, b) => a.name.localeCompare(b.name));
    fill();
  }

  function init() {
    $("f-registry").addEventListener("change", () => {
      const chosen = $("f-registry").value;
      if (!chosen) return;
      const host = $("f-host");
      host.value = chosen;
      host.dispatchEvent(new Event("input", { bubbles: true }));
      host.dispatchEvent(new Event("change", { bubbles: true }));
    });
    $("f-host").addEventListener("input", sync);
  }

  P.registries = { init, load, sync, known: () => known };
})(window.IotopsPortal = window.IotopsPortal || {});
