/* Row actions: details (the resource JSON), test connection (a step-by-step report) and
   delete (after a confirmation that names the endpoint). Edit opens the wizard. */
"use strict";
(function (P) {
  const { el, json, openDialog, notify } = P.ui;
  const $ = (id) => document.getElementById(id);
  let testing = null;
  let deleting = null;

  function showDetails(item, trigger) {
    $("details-title").textContent = item.name;
    $("details-json").textContent = json(item);
    openDialog($("details"), trigger, $("details").querySelector(".blade-close"));
  }

  function stepItem(step) {
    const status = step.status || "Unknown";
    const duration = typeof step.durationMs === "number" ? `${step.durationMs} ms` : "";
    return el("li", { class: `test-step test-${status.toLowerCase()}` },
      el("div", { class: "test-step-head" },
        el("span", { class: `status status-${status.toLowerCase()}` }, status),
        el("strong", { class: "test-step-name" }, step.name || "Step"),
        duration ? el("span", { class: "test-step-duration" }, duration) : null),
      step.message ? el("p", { class: "test-step-message" }, step.message) : null,
      step.code ? el("p", { class: "test-step-code" }, "Code: ", el("code", {}, step.code))
        : null,
      step.hint ? el("p", { class: "test-step-hint" }, "Hint: ", step.hint) : null);
  }

  // The summary only restates what the steps say: Succeeded means a pull was proven.
  function summaryText(report) {
    const steps = report.steps;
    const failed = steps.find((s) => s.status === "Failed");
    if (report.status === "Failed" && failed) {
      return `the ${failed.name} step failed; the steps after it did not run.`;
    }
    if (report.status === "Succeeded") {
      const from = report.repository ? ` from '${report.repository}'` : "";
      return `every check passed, including a pull${from}.`;
    }
    if (report.status === "PartiallyVerified") {
      return "the registry is reachable, but pull permission is not verified " +
        "(see PullPermission below). Name a repository above and run again.";
    }
    return "see the steps below.";
  }

  async function runTest() {
    const item = testing;
    if (!item) return;
    const summary = $("test-summary");
    const steps = $("test-steps");
    summary.className = "test-summary";
    summary.textContent = `Testing the connection to ${item.properties.host}…`;
    steps.replaceChildren();
    $("test-again").disabled = true;
    const repository = $("test-repository").value.trim();
    const r = await P.api.call("POST", `${item.id}/test`,
      repository ? { body: { repository } } : undefined);
    $("test-again").disabled = false;
    if (testing !== item) return;
    if (r.ok && r.data && Array.isArray(r.data.steps)) {
      const status = r.data.status || "Unknown";
      summary.className = `test-summary test-summary-${status.toLowerCase()}`;
      summary.replaceChildren(
        el("span", { class: `status status-${status.toLowerCase()}` }, status),
        ` Test connection to ${item.properties.host}: ${summaryText(r.data)}`);
      steps.replaceChildren(...r.data.steps.map(stepItem));
      // A test records the endpoint's health: show the new state in the list.
      const fresh = await P.api.call("GET", `${item.id}?$expand=${P.api.EXPAND}`);
      if (fresh.ok && fresh.data) P.list.upsert(fresh.data);
      return;
    }
    const code = r.error ? r.error.code : "";
    summary.className = "test-summary test-summary-unavailable";
    if ([404, 405, 501].includes(r.status) && code !== "ResourceNotFound") {
      summary.textContent = "Test connection is not available on this server yet " +
        `(the API answered ${r.status}${code ? " " + code : ""}). ` +
        "The registry endpoint itself is unaffected.";
    } else {
      summary.textContent = `The test could not run: ${P.api.describe(r.error)}`;
    }
  }

  function showTest(item, trigger) {
    testing = item;
    $("test-title").textContent = `Test connection: ${item.name}`;
    $("test-repository").value = "";
    openDialog($("test-report"), trigger, $("test-report").querySelector(".blade-close"));
    runTest();
  }

  function askDelete(item, trigger) {
    deleting = item;
    const instance = P.list.current();
    $("delete-title").textContent = `Delete registry endpoint '${item.name}'?`;
    $("delete-desc").textContent =
      `The registry endpoint '${item.name}' (${item.properties.host})` +
      ` will be deleted from instance '${instance ? instance.name : ""}'. ` +
      "This cannot be undone.";
    $("delete-error").textContent = "";
    $("delete-confirm").disabled = false;
    openDialog($("confirm-delete"), trigger, $("confirm-delete").querySelector("[data-close]"));
  }

  async function confirmDelete() {
    const item = deleting;
    if (!item) return;
    $("delete-confirm").disabled = true;
    const r = await P.api.call("DELETE", item.id);
    if (!r.ok) {
      $("delete-confirm").disabled = false;
      $("delete-error").textContent = `Could not delete: ${P.api.describe(r.error)}`;
      return;
    }
    deleting = null;
    P.list.remove(item.id);
    $("confirm-delete").close();
    notify(`Deleted registry endpoint '${item.name}'.`);
  }

  function init() {
    $("endpoint-rows").addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const item = P.list.find(button.dataset.id);
      if (!item) return;
      const action = button.dataset.action;
      if (action === "details") showDetails(item, button);
      else if (action === "edit") P.wizard.openEdit(item, button);
      else if (action === "test") showTest(item, button);
      else if (action === "delete") askDelete(item, button);
    });
    $("test-again").addEventListener("click", runTest);
    $("test-report").addEventListener("closed", () => { testing = null; });
    $("delete-confirm").addEventListener("click", confirmDelete);
    $("confirm-delete").addEventListener("closed", () => { deleting = null; });
  }

  P.actions = { init };
})(window.IotopsPortal = window.IotopsPortal || {});
