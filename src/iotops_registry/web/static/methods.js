/* The authentication methods, as the server's method table (domain/auth_methods.py) says:
   rendered into the page as JSON (#auth-methods), read here once. No script names a method. */
"use strict";
(function (P) {
  const node = document.getElementById("auth-methods");
  const list = node ? JSON.parse(node.textContent) : [];
  const byName = Object.fromEntries(list.map((m) => [m.name, m]));
  const preselected = list.find((m) => m.default) || list[0] || { name: "", fields: [] };

  P.methods = {
    list,
    byName,
    defaultName: preselected.name,
    /* "none" | "managed_identity" | "pull_secret" */
    kind: (name) => (byName[name] ? byName[name].credential : null),
    label: (name) => (byName[name] ? byName[name].label : name || ""),
    /* The field that names a pull secret's synced secret (the pull-secret pane's own). */
    secretRefField: () => {
      for (const m of list) {
        const f = m.fields.find((x) => x.role === "secret_ref");
        if (f) return f;
      }
      return null;
    },
  };
})(window.IotopsPortal = window.IotopsPortal || {});
