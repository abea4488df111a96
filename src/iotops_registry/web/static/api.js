/* The portal's only way to the server: the public ARM API, same origin, with the session
   cookie and the X-CSRF-Token header (the server turns the session into a bearer token). */
"use strict";
(function (P) {
  const main = document.getElementById("main");
  P.apiVersion = main ? main.dataset.apiVersion : "2026-07-01";
  P.subscription = main ? main.dataset.subscription : "";

  function csrfToken() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  /* A same-origin path (with query) for a URL the server gave us, or null for any other. */
  function samePath(url) {
    try {
      const u = new URL(url, location.href);
      return u.origin === location.origin ? u.pathname + u.search : null;
    } catch (_) {
      return null;
    }
  }

  function withVersion(path) {
    if (/[?&]api-version=/.test(path)) return path;
    return path + (path.includes("?") ? "&" : "?") +
      "api-version=" + encodeURIComponent(P.apiVersion);
  }

  async function call(method, path, options) {
    const opts = options || {};
    const url = samePath(withVersion(path));
    if (url === null) throw new Error("refusing to call another origin");
    const headers = Object.assign(
      { "Accept": "application/json", "X-CSRF-Token": csrfToken() }, opts.headers || {});
    const init = { method, headers, credentials: "same-origin", cache: "no-store" };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (_) {
      return {
        ok: false, status: 0, data: null, etag: null,
        error: { code: "NetworkError", message: "The server could not be reached." },
      };
    }
    const text = await response.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (_) { data = null; }
    }
    const result = {
      ok: response.ok, status: response.status, data, etag: response.headers.get("ETag"),
      error: null,
    };
    if (!response.ok) {
      result.error = (data && data.error) ||
        { code: String(response.status), message: `The server answered ${response.status}.` };
      if (response.status === 401 && P.ui) P.ui.sessionEnded();
    }
    return result;
  }

  /* Every page of a list, page by page: onPage(values) after each one. isCurrent() lets a
     newer request abandon an older walk. `expand` ($expand) is kept on every page. */
  async function listAll(path, onPage, isCurrent, top, expand) {
    const extra = expand ? `&$expand=${encodeURIComponent(expand)}` : "";
    let url = withVersion(path) + (top ? `&$top=${top}` : "") + extra;
    while (url) {
      const r = await call("GET", url);
      if (isCurrent && !isCurrent()) return { ok: true, abandoned: true };
      if (!r.ok) return r;
      onPage((r.data && r.data.value) || []);
      url = r.data && r.data.nextLink ? samePath(r.data.nextLink) : null;
      if (url && extra && !/[?&]\$expand=/i.test(url)) url += extra;
    }
    return { ok: true };
  }

  function describe(error) {
    if (!error) return "";
    return error.code ? `${error.message} (${error.code})` : error.message;
  }

  /* Endpoint documents with properties.healthStatus (its message), where the API has it. */
  const EXPAND = "healthStatus";

  P.api = { call, listAll, describe, csrfToken, EXPAND };
})(window.IotopsPortal = window.IotopsPortal || {});
