/* The Key Vault secret pickers of the Artifact secret method, one for the username and one
   for the password: "Select existing" (a searchable list of the vault's secret names) or
   "Create new" (a name and a masked value that is sent once and never shown again). */
"use strict";
(function (P) {
  const { el } = P.ui;
  const $ = (id) => document.getElementById(id);
  const ROLES = ["username", "password"];
  const state = { secrets: [], loaded: false, selected: { username: "", password: "" } };

  const mode = (role) => document.querySelector(`input[name="${role}-mode"]:checked`).value;
  const newName = (role) => $(`${role}-new-name`).value.trim();

  /* The Key Vault secret a role will use: the selected one, or the one to create. */
  function source(role) {
    return mode(role) === "new" ? newName(role) : state.selected[role];
  }

  /* The input a server error about this role belongs on. */
  function field(role) {
    return mode(role) === "new" ? `${role}-new-name` : `${role}-select`;
  }

  function showMode(role) {
    for (const pane of document.querySelectorAll(`#pick-${role} .picker-pane`)) {
      pane.hidden = pane.dataset.mode !== mode(role);
    }
  }

  function fill(role) {
    const select = $(`${role}-select`);
    const needle = $(`${role}-search`).value.trim().toLowerCase();
    const all = state.secrets;
    const matching = all.filter((n) => n.toLowerCase().includes(needle));
    select.replaceChildren(...matching.map((n) => el("option", { value: n }, n)));
    select.value = matching.includes(state.selected[role]) ? state.selected[role] : "";
    const counted = needle ? `${matching.length} of ${all.length} secrets match.`
      : `${all.length} secret${all.length === 1 ? "" : "s"} in the vault.`;
    const chosen = state.selected[role];
    $(`${role}-select-help`).textContent = chosen ? `${counted} Selected: ${chosen}.` : counted;
  }

  function exists(name) {
    return state.secrets.some((s) => s.toLowerCase() === name.toLowerCase());
  }

  async function load(instance) {
    if (!instance) return;
    $("kv-status").textContent = "Loading the Key Vault's secrets…";
    const r = await P.api.call("GET", `${instance.id}/keyVaultSecrets`);
    if (!r.ok) {
      $("kv-status").textContent = `Could not list Key Vault secrets: ${P.api.describe(r.error)}`;
      return;
    }
    state.secrets = ((r.data && r.data.value) || []).map((s) => s.name)
      .sort((a, b) => a.localeCompare(b));
    state.loaded = true;
    $("kv-status").textContent = "";
    ROLES.forEach(fill);
  }

  function select(role, name) {
    state.selected[role] = name || "";
    fill(role);
  }

  /* A new secret was stored: forget its value, and from now on use it as an existing one. */
  function stored(role, name) {
    $(`${role}-new-value`).value = "";
    $(`${role}-new-name`).value = "";
    if (!exists(name)) state.secrets.push(name);
    state.secrets.sort((a, b) => a.localeCompare(b));
    state.selected[role] = name;
    $(`${role}-mode-existing`).checked = true;
    showMode(role);
    ROLES.forEach(fill);
  }

  function clearValues() {
    for (const role of ROLES) $(`${role}-new-value`).value = "";
  }

  function reset() {
    state.secrets = [];
    state.loaded = false;
    state.selected = { username: "", password: "" };
    $("kv-status").textContent = "";
    for (const role of ROLES) {
      $(`${role}-search`).value = "";
      showMode(role);
      fill(role);
    }
  }

  P.pickers = {
    ROLES, state, mode, newName, source, field, showMode, fill, exists, load, select, stored,
    clearValues, reset, isLoaded: () => state.loaded,
  };
})(window.IotopsPortal = window.IotopsPortal || {});
