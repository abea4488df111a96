/* Start the portal once every script has loaded (all are deferred, in order). */
"use strict";
(function (P) {
  P.ui.initDialogs();
  P.list.init();
  P.actions.init();
  P.wizard.init();
  document.getElementById("signout").addEventListener("click", async () => {
    await fetch("/-/signout", {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": P.api.csrfToken() },
    });
    location.assign("/-/signed-out");
  });
})(window.IotopsPortal = window.IotopsPortal || {});
