/* The create / edit wizard: Basics -> Authentication -> Review + create, in a side panel.
   Rules are checked as the user types (P.rules mirrors the server); server errors land on
   the field their `target` names (P.targets). Secret values go to Key Vault once. */
"use strict";
(function (P) {
  const { el, json, openDialog, notify } = P.ui;
  const R = P.rules;
  const K = P.pickers;
  const T = P.targets;
  const $ = (id) => document.getElementById(id);
  const M = P.methods;
  const PULL_SECRET = "pull_secret";
  const SYNC = (M.secretRefField() || { id: "f-sync-name" }).id;
  // A settings field's rule, by the name the method table gives it.
  const RULES = {
    guid: (v, f) => R.checkGuid(v, f.what),
    audience: (v) => R.checkAudience(v),
    scope: (v) => R.checkScope(v),
    k8sName: (v, f) => R.checkK8sName(v, f.what),
  };

  const W = {
    mode: "create",
    step: 0,
    original: null, // the endpoint being edited, as last read
    etag: null,
    syncOriginal: null, // {name, etag, username, password} of the edited endpoint's secret
    createdSync: null, // {name, etag} of a synced secret this panel already wrote
    touched: new Set(),
    summary: { problems: [], extra: [] }, // what the error summary lists
    caFields: [],
    busy: false,
  };

  // --- values ------------------------------------------------------------------------------

  const val = (id) => $(id).value.trim();
  const names = (id) => val(id).split(",").map((s) => s.trim()).filter(Boolean);
  function method() {
    const checked = document.querySelector('#f-method input[name="method"]:checked');
    return checked ? checked.value : M.defaultName;
  }

  function pickerUnchanged(role) {
    const original = W.syncOriginal ? W.syncOriginal[role] : null;
    return K.mode(role) === "existing" && (K.state.selected[role] || null) === (original || null);
  }

  /* Must Create write the synced secret? Not when an edit keeps its name and its secrets. */
  function needSyncPut() {
    if (M.kind(method()) !== PULL_SECRET) return false;
    return !(W.mode === "edit" && W.syncOriginal && val(SYNC) === W.syncOriginal.name
      && K.ROLES.every(pickerUnchanged));
  }

  // --- rules per field ---------------------------------------------------------------------

  function checkNames(id, type, what) {
    const list = names(id);
    for (const n of list) {
      const problem = R.checkK8sName(n, what);
      if (problem) return problem;
    }
    const dup = list.find((n, i) => list.indexOf(n) !== i);
    return dup ? `The ${type} '${dup}' is listed more than once in codeSigningCas.` : null;
  }

  function checkNewName(role) {
    const name = K.newName(role);
    const problem = R.checkKvName(name);
    if (problem) return problem;
    if (K.exists(name)) {
      return `A Key Vault secret named '${name}' already exists. Pick it under ` +
        "Select existing, or choose another name.";
    }
    const other = K.ROLES.find((r) => r !== role);
    if (K.mode(other) === "new" && K.newName(other).toLowerCase() === name.toLowerCase()) {
      return "The username and password need two different Key Vault secrets.";
    }
    return null;
  }

  const optional = (id, rule) => () => (val(id) ? rule(val(id)) : null);
  const FIELDS = {
    "f-name": {
      step: 0, check: () => (W.mode === "edit" ? null : R.checkResourceName(val("f-name"))),
    },
    "f-host": { step: 0, check: () => R.checkHost(val("f-host")) },
    "f-ca-configmaps": {
      step: 0, check: () => checkNames("f-ca-configmaps", "ConfigMap", "config map reference"),
    },
    "f-ca-secrets": {
      step: 0, check: () => checkNames("f-ca-secrets", "Secret", "secret reference"),
    },
    "f-method": { step: 1, check: () => null },
  };
  for (const m of M.list) {
    for (const f of m.fields) {
      const rule = (v) => RULES[f.rule](v, f);
      FIELDS[f.id] = {
        step: 1, method: m.name, check: f.required ? () => rule(val(f.id)) : optional(f.id, rule),
      };
    }
  }
  for (const role of K.ROLES) {
    const picker = { step: 1, kind: PULL_SECRET, picker: role };
    FIELDS[`${role}-select`] = Object.assign({}, picker, {
      pickerMode: "existing",
      check: () => (needSyncPut() && !K.state.selected[role]
        ? `Select the Key Vault secret that holds the ${role}.` : null),
    });
    FIELDS[`${role}-new-name`] = Object.assign({}, picker, {
      pickerMode: "new", check: () => checkNewName(role),
    });
    FIELDS[`${role}-new-value`] = Object.assign({}, picker, {
      pickerMode: "new",
      check: () => ($(`${role}-new-value`).value ? null
        : `Enter the ${role} to store in Key Vault.`),
    });
  }

  function isActive(id) {
    const f = FIELDS[id];
    if (f.method && f.method !== method()) return false;
    if (f.kind && f.kind !== M.kind(method())) return false;
    return !(f.picker && K.mode(f.picker) !== f.pickerMode);
  }

  function setError(id, message) {
    const input = $(id);
    const error = $(`${id}-error`);
    if (message) {
      input.setAttribute("aria-invalid", "true");
      if (error.textContent !== message) error.textContent = message;
    } else {
      input.removeAttribute("aria-invalid");
      error.textContent = "";
    }
  }

  function validate(id, force) {
    if (!isActive(id)) {
      setError(id, null);
      return null;
    }
    const problem = FIELDS[id].check();
    if (force || W.touched.has(id)) setError(id, problem);
    return problem;
  }

  /* Problems of the given steps, now shown on their fields: [{id, message}]. */
  function validateSteps(steps) {
    const problems = [];
    for (const id of Object.keys(FIELDS)) {
      if (!steps.includes(FIELDS[id].step)) continue;
      const message = validate(id, true);
      if (message) problems.push({ id, message });
    }
    return problems;
  }

  function labelOf(id) {
    const node = $(id);
    if (node.tagName === "FIELDSET") return node.querySelector("legend").textContent;
    const label = document.querySelector(`label[for="${id}"]`);
    return label ? label.textContent.replace(/\s*\*$/, "") : id;
  }

  /* The error summary (role=alert, so it is announced): field problems and other errors.
     W.summary keeps what it lists, so a change can take back what no longer applies. */
  function showSummary(problems, extra) {
    W.summary = { problems: problems.map((p) => Object.assign({}, p)), extra: extra || [] };
    renderSummary();
  }

  function renderSummary() {
    const box = $("wizard-errors");
    const { problems, extra } = W.summary;
    const items = problems.map((p) => el("li", {}, `${labelOf(p.id)}: ${p.message}`));
    for (const message of extra) items.push(el("li", {}, message));
    box.hidden = items.length === 0;
    if (items.length === 0) {
      box.replaceChildren();
      return;
    }
    box.replaceChildren(
      el("p", { class: "error-summary-title" }, items.length === 1
        ? "There is 1 problem to fix." : `There are ${items.length} problems to fix.`),
      el("ul", {}, items));
  }

  /* After a change (method, picker mode, a field's value): the summary keeps only problems
     of visible fields on this step that still hold, with their current text. A problem the
     server reported stays until its field is edited; other server errors go when the
     method changes, since they were about the request as it was. */
  function refreshSummary(options) {
    const before = JSON.stringify(W.summary);
    const edited = options && options.edited;
    const problems = [];
    for (const p of W.summary.problems) {
      if (FIELDS[p.id].step !== W.step || !isActive(p.id)) continue;
      if (p.server) {
        if (p.id !== edited) problems.push(p);
        continue;
      }
      const message = FIELDS[p.id].check();
      if (message) problems.push({ id: p.id, message });
    }
    const extra = options && options.methodChanged ? [] : W.summary.extra;
    W.summary = { problems, extra };
    if (JSON.stringify(W.summary) !== before) renderSummary();
  }

  function focusField(id) {
    const node = $(id);
    if (node.tagName !== "FIELDSET") {
      node.focus();
      return;
    }
    const radio = node.querySelector("input:checked") || node.querySelector("input");
    if (radio) radio.focus();
  }

  /* Show problems (the first step's) on their fields, go there and focus the first one. */
  function showProblems(problems, extra) {
    const first = Math.min(...problems.map((p) => FIELDS[p.id].step));
    showSummary(problems.filter((p) => FIELDS[p.id].step === first), extra);
    if (W.step !== first) goTo(first, false);
    focusField(problems.find((p) => FIELDS[p.id].step === first).id);
  }

  // --- steps -------------------------------------------------------------------------------

  function firstField(step) {
    if (step === 0) return W.mode === "edit" ? $("f-host") : $("f-name");
    if (step === 1) return document.querySelector('#f-method input[name="method"]:checked');
    return $("step-review");
  }

  function goTo(step, focus) {
    W.step = step;
    for (const section of document.querySelectorAll("#wizard .wizard-step")) {
      section.hidden = Number(section.dataset.step) !== step;
    }
    for (const tab of document.querySelectorAll("#wizard [data-goto]")) {
      if (Number(tab.dataset.goto) === step) tab.setAttribute("aria-current", "step");
      else tab.removeAttribute("aria-current");
    }
    $("wiz-review").hidden = step === 2;
    $("wiz-next").hidden = step === 2;
    $("wiz-create").hidden = step !== 2;
    $("wiz-prev").disabled = step === 0;
    if (step === 2) renderReview();
    if (focus !== false) firstField(step).focus();
  }

  function advance(target) {
    const steps = new Set(target === 2 ? [0, 1] : []);
    for (let s = W.step; s < target; s += 1) steps.add(s);
    const problems = validateSteps([...steps]);
    if (problems.length > 0) {
      showProblems(problems);
      return;
    }
    showSummary([]);
    goTo(target);
  }

  function showMethod() {
    for (const pane of document.querySelectorAll("#wizard .method-pane")) {
      pane.hidden = pane.dataset.method !== method();
    }
    if (M.kind(method()) === PULL_SECRET && !K.isLoaded()) K.load(P.list.current());
  }

  // --- bodies and review -------------------------------------------------------------------

  function endpointBody() {
    const m = M.byName[method()];
    const settings = {};
    for (const f of m.fields) {
      if (f.required || val(f.id)) settings[f.name] = val(f.id);
    }
    const properties = {
      host: val("f-host"), authentication: { method: m.name, [m.settingsKey]: settings },
    };
    const maps = names("f-ca-configmaps");
    const secrets = names("f-ca-secrets");
    W.caFields = [...maps.map(() => "f-ca-configmaps"), ...secrets.map(() => "f-ca-secrets")];
    const cas = [
      ...maps.map((n) => ({ type: "ConfigMap", configMapRef: n })),
      ...secrets.map((n) => ({ type: "Secret", secretRef: n })),
    ];
    if (cas.length) properties.codeSigningCas = cas;
    const body = { properties };
    if (W.mode === "edit" && W.original && W.original.extendedLocation) {
      body.extendedLocation = W.original.extendedLocation;
    }
    return body;
  }

  function syncBody() {
    return {
      properties: {
        objectSecretMapping: K.ROLES.map((role) => ({
          sourcePath: K.source(role), targetKey: role,
        })),
      },
    };
  }

  const instanceId = () => P.list.current().id;
  const endpointId = () => (W.mode === "edit" ? W.original.id
    : `${instanceId()}/registryEndpoints/${val("f-name")}`);
  const short = (id) => (id.toLowerCase().startsWith(instanceId().toLowerCase())
    ? "…" + id.slice(instanceId().length) : id);

  function renderReview() {
    $("review-json").textContent = json(endpointBody());
    const requests = [];
    if (M.kind(method()) === PULL_SECRET) {
      for (const role of K.ROLES) {
        if (K.mode(role) !== "new") continue;
        requests.push(el("li", {},
          el("code", {}, `PUT ${short(`${instanceId()}/keyVaultSecrets/${K.newName(role)}`)}`),
          ` (a new Key Vault secret for the ${role}; its value is not shown)`));
      }
      if (needSyncPut()) {
        requests.push(el("li", {},
          el("code", {}, `PUT ${short(`${instanceId()}/syncedSecrets/${val(SYNC)}`)}`),
          el("pre", { class: "json", tabindex: "0", "aria-label": "Synced secret JSON" },
            json(syncBody()))));
      }
    }
    const editing = W.mode === "edit";
    requests.push(el("li", {}, el("code", {}, `PUT ${short(endpointId())}`),
      ` (${editing ? "saves" : "creates"} the registry endpoint below)`));
    $("review-steps").replaceChildren(
      el("p", { class: "help" }, `${editing ? "Save" : "Create"} sends, in order:`),
      el("ol", { class: "review-requests" }, requests));
  }

  // --- create / save -----------------------------------------------------------------------

  /* Put a failed response's errors on their fields; the rest goes to the summary. */
  function serverErrors(r, table) {
    const errors = [r.error, ...((r.error && r.error.details) || [])].filter(Boolean);
    const mapped = [];
    const other = [];
    for (const e of errors) {
      const id = T.fieldForTarget(e.target, table, W.caFields);
      if (id && FIELDS[id] && isActive(id) && !mapped.some((m) => m.id === id)) {
        setError(id, e.message);
        mapped.push({ id, message: e.message, server: true });
      } else {
        other.push(`The server refused the request: ${P.api.describe(e)}`);
      }
    }
    if (mapped.length > 0) {
      showProblems(mapped, other);
    } else {
      showSummary([], other);
      $("wizard-errors").focus();
    }
  }

  function fieldError(id, message) {
    setError(id, message);
    showProblems([{ id, message }]);
  }

  function setBusy(busy, text) {
    W.busy = busy;
    for (const id of ["wiz-review", "wiz-prev", "wiz-next", "wiz-create"]) $(id).disabled = busy;
    if (!busy) $("wiz-prev").disabled = W.step === 0;
    $("wiz-busy").textContent = text || "";
  }

  async function createSecrets() {
    for (const role of K.ROLES) {
      if (K.mode(role) !== "new") continue;
      const name = K.newName(role);
      const r = await P.api.call("PUT", `${instanceId()}/keyVaultSecrets/${name}`,
        { body: { properties: { value: $(`${role}-new-value`).value } } });
      if (!r.ok) {
        serverErrors(r, T.keyVaultSecret(role));
        return false;
      }
      K.stored(role, name);
    }
    return true;
  }

  async function writeSyncedSecret() {
    const name = val(SYNC);
    const headers = {};
    if (W.createdSync && W.createdSync.name === name) headers["If-Match"] = W.createdSync.etag;
    else if (W.syncOriginal && W.syncOriginal.name === name) {
      headers["If-Match"] = W.syncOriginal.etag;
    } else headers["If-None-Match"] = "*";
    const r = await P.api.call("PUT", `${instanceId()}/syncedSecrets/${name}`,
      { body: syncBody(), headers });
    if (r.status === 412) {
      fieldError(SYNC, headers["If-None-Match"]
        ? `A synced secret named '${name}' already exists in this instance. Choose another name.`
        : `The synced secret '${name}' was changed by someone else. Close and try again.`);
      return false;
    }
    if (!r.ok) {
      serverErrors(r, T.syncedSecret());
      return false;
    }
    W.createdSync = { name, etag: r.etag };
    return true;
  }

  async function putEndpoint() {
    const editing = W.mode === "edit";
    const headers = editing ? { "If-Match": W.etag } : { "If-None-Match": "*" };
    const r = await P.api.call("PUT", endpointId(), { body: endpointBody(), headers });
    if (r.status === 412 && editing) {
      showSummary([], ["This registry endpoint was changed since you opened it. Close the " +
        "panel and edit it again to start from the latest version."]);
      $("wizard-errors").focus();
    } else if (r.status === 412) {
      fieldError("f-name", `A registry endpoint named '${val("f-name")}' already exists ` +
        "in this instance. Choose another name.");
    } else if (!r.ok) {
      serverErrors(r, T.ENDPOINT);
    }
    return r.ok ? r.data : null;
  }

  async function submit() {
    if (W.busy) return;
    if (validateSteps([0, 1]).length > 0) {
      advance(2);
      return;
    }
    const editing = W.mode === "edit";
    setBusy(true, editing ? "Saving…" : "Creating…");
    try {
      if (M.kind(method()) === PULL_SECRET) {
        if (!(await createSecrets())) return;
        if (needSyncPut() && !(await writeSyncedSecret())) return;
      }
      const doc = await putEndpoint();
      if (!doc) return;
      P.list.upsert(doc);
      P.list.watchHealth(doc.id);
      setBusy(false);
      $("wizard").close();
      notify(`${editing ? "Saved" : "Created"} registry endpoint '${doc.name}'.`);
    } finally {
      if (W.busy) setBusy(false);
    }
  }

  // --- open --------------------------------------------------------------------------------

  function reset(mode) {
    Object.assign(W, { mode, original: null, etag: null, syncOriginal: null, createdSync: null });
    W.touched.clear();
    $("wizard-form").reset();
    for (const id of Object.keys(FIELDS)) setError(id, null);
    showSummary([]);
    K.reset();
    const editing = mode === "edit";
    const review = editing ? "Review + save" : "Review + create";
    $("f-name").readOnly = editing;
    $("wiz-review").textContent = review;
    $("wiz-create").textContent = editing ? "Save" : "Create";
    $("step-review-tab").textContent = review;
    $("step-review-tab").setAttribute("aria-label", `Step 3: ${review}`);
    $("step-review").textContent = review;
    setBusy(false);
  }

  function openCreate(trigger) {
    if (!P.list.current()) return;
    reset("create");
    $("wizard-title").textContent = "Create registry endpoint";
    P.registries.load();
    showMethod();
    goTo(0, false);
    openDialog($("wizard"), trigger, firstField(0), $("cmd-create"));
  }

  function prefill(doc) {
    const props = doc.properties || {};
    const auth = props.authentication || {};
    const current = M.byName[auth.method];
    const settings = (current && auth[current.settingsKey]) || {};
    const cas = props.codeSigningCas || [];
    $("f-name").value = doc.name;
    $("f-host").value = props.host || "";
    P.registries.sync();
    $("f-ca-configmaps").value = cas.filter((c) => c.type === "ConfigMap")
      .map((c) => c.configMapRef).join(", ");
    $("f-ca-secrets").value = cas.filter((c) => c.type === "Secret")
      .map((c) => c.secretRef).join(", ");
    const radio = document.querySelector(`#f-method input[value="${auth.method}"]`);
    if (radio) radio.checked = true;
    for (const m of M.list) {
      for (const f of m.fields) $(f.id).value = (m === current && settings[f.name]) || "";
    }
    return M.kind(auth.method) === PULL_SECRET ? settings[M.secretRefField().name] : null;
  }

  async function openEdit(item, trigger) {
    const r = await P.api.call("GET", `${item.id}?$expand=${P.api.EXPAND}`);
    if (!r.ok) {
      notify(`Could not open '${item.name}': ${P.api.describe(r.error)}`, "error");
      return;
    }
    P.list.upsert(r.data);
    reset("edit");
    W.original = r.data;
    W.etag = r.etag;
    $("wizard-title").textContent = `Edit registry endpoint '${r.data.name}'`;
    const syncName = prefill(r.data);
    showMethod();
    goTo(0, false);
    openDialog($("wizard"), trigger, firstField(0), $("cmd-create"));
    if (syncName) await loadSyncedSecret(syncName);
  }

  async function loadSyncedSecret(name) {
    const r = await P.api.call("GET", `${instanceId()}/syncedSecrets/${name}`);
    if (!r.ok) return;
    const mapping = ((r.data && r.data.properties) || {}).objectSecretMapping || [];
    const source = (key) => {
      const m = mapping.find((x) => x.targetKey === key);
      return m ? m.sourcePath.split("@")[0] : null;
    };
    W.syncOriginal = { name, etag: r.etag, username: source("username"),
      password: source("password") };
    for (const role of K.ROLES) K.select(role, W.syncOriginal[role]);
  }

  // --- wiring ------------------------------------------------------------------------------

  function onInput(event) {
    const id = event.target.id;
    if (FIELDS[id]) {
      W.touched.add(id);
      validate(id);
    }
    const search = /^(username|password)-search$/.exec(id);
    if (search) K.fill(search[1]);
    if (/-new-name$/.test(id)) K.ROLES.forEach((role) => validate(`${role}-new-name`));
    if (id === SYNC) K.ROLES.forEach((role) => validate(`${role}-select`));
    if (FIELDS[id]) refreshSummary({ edited: id });
  }

  function onChange(event) {
    const target = event.target;
    if (target.name === "method") {
      showMethod();
      refreshSummary({ methodChanged: true });
    }
    const mode = /^(username|password)-mode$/.exec(target.name);
    if (mode) {
      K.showMode(mode[1]);
      validate(`${mode[1]}-select`);
      refreshSummary();
    }
    const select = /^(username|password)-select$/.exec(target.id);
    if (select) {
      K.select(select[1], target.value);
      W.touched.add(target.id);
      validate(target.id);
      refreshSummary({ edited: target.id });
    }
  }

  function init() {
    const form = $("wizard-form");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (W.step < 2) advance(W.step + 1);
      else submit();
    });
    form.addEventListener("input", onInput);
    form.addEventListener("change", onChange);
    $("wiz-next").addEventListener("click", () => advance(W.step + 1));
    $("wiz-prev").addEventListener("click", () => {
      showSummary([]);
      goTo(Math.max(0, W.step - 1));
    });
    $("wiz-review").addEventListener("click", () => advance(2));
    for (const tab of document.querySelectorAll("#wizard [data-goto]")) {
      tab.addEventListener("click", () => {
        const target = Number(tab.dataset.goto);
        if (target > W.step) {
          advance(target);
          return;
        }
        showSummary([]);
        goTo(target);
      });
    }
    // Never keep a secret value around after the panel closes.
    $("wizard").addEventListener("closed", K.clearValues);
    $("cmd-create").addEventListener("click", (e) => openCreate(e.currentTarget));
    $("empty-create").addEventListener("click", (e) => openCreate(e.currentTarget));
    P.registries.init();
  }

  P.wizard = {
    init, openCreate, openEdit,
    fieldForTarget: (target) => T.fieldForTarget(target, T.ENDPOINT, W.caFields),
  };
})(window.IotopsPortal = window.IotopsPortal || {});
