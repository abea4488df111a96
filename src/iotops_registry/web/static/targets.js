/* Where a server error belongs: ARM errors name the offending property in `target` (a JSON
   path such as properties.authentication.<method settings>.clientId); this maps each to the
   wizard input a person would change. */
"use strict";
(function (P) {
  const AUTH = "properties.authentication";
  const ENDPOINT = {
    "registryEndpointName": "f-name",
    "properties.host": "f-host",
    [AUTH]: "f-method",
    [`${AUTH}.method`]: "f-method",
    "properties.codeSigningCas": "f-ca-configmaps",
  };
  // Each method's settings object and properties, from the method table.
  for (const m of P.methods.list) {
    ENDPOINT[`${AUTH}.${m.settingsKey}`] = m.fields.length ? m.fields[0].id : "f-method";
    for (const f of m.fields) ENDPOINT[`${AUTH}.${m.settingsKey}.${f.name}`] = f.id;
  }

  /* `caFields[i]` is the input that produced properties.codeSigningCas[i]. */
  function fieldForTarget(target, table, caFields) {
    const map = table || ENDPOINT;
    if (!target) return null;
    if (map[target]) return map[target];
    const ca = /^properties\.codeSigningCas\[(\d+)\]/.exec(target);
    if (ca && map === ENDPOINT) return (caFields || [])[Number(ca[1])] || "f-ca-configmaps";
    let best = null;
    for (const key of Object.keys(map)) {
      if (target.startsWith(key + ".") && (!best || key.length > best.length)) best = key;
    }
    return best ? map[best] : null;
  }

  /* Errors of PUT .../syncedSecrets/{name}. */
  function syncedSecret() {
    const user = P.pickers.field("username");
    const pass = P.pickers.field("password");
    return {
      "syncedSecretName": "f-sync-name",
      "properties.objectSecretMapping": "f-sync-name",
      "properties.objectSecretMapping[0]": user,
      "properties.objectSecretMapping[0].sourcePath": user,
      "properties.objectSecretMapping[1]": pass,
      "properties.objectSecretMapping[1].sourcePath": pass,
    };
  }

  /* Errors of PUT .../keyVaultSecrets/{name} for one role. */
  function keyVaultSecret(role) {
    return {
      "secretName": `${role}-new-name`,
      "properties.value": `${role}-new-value`,
      "properties": `${role}-new-value`,
    };
  }

  P.targets = { ENDPOINT, fieldForTarget, syncedSecret, keyVaultSecret };
})(window.IotopsPortal = window.IotopsPortal || {});
