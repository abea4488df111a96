/* Small DOM helpers: element builder, notifications, dialogs that give focus back. */
"use strict";
(function (P) {
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function notify(message, kind) {
    const region = document.getElementById("notifications");
    const item = el("div", { class: `toast toast-${kind || "success"}` },
      el("span", { class: "toast-text", text: message }),
      el("button", {
        type: "button", class: "toast-close", "aria-label": "Dismiss notification",
        onclick: () => item.remove(),
      }, "\u2715"));
    region.append(item);
    setTimeout(() => item.remove(), 10000);
  }

  let sessionShown = false;
  function sessionEnded() {
    if (sessionShown) return;
    sessionShown = true;
    document.getElementById("session-alert").hidden = false;
  }

  /* Dialogs: open modally, remember what opened them, give focus back when they close
     (Escape, a Close button, or code). */
  const triggers = new WeakMap();

  function openDialog(dialog, trigger, focusTarget, fallback) {
    triggers.set(dialog, { trigger: trigger || document.activeElement, fallback });
    if (!dialog.open) dialog.showModal();
    const target = focusTarget || dialog.querySelector("[autofocus], input, button");
    if (target) target.focus();
  }

  const focusable = (node) => node && node.isConnected && !node.disabled &&
    node.getClientRects().length > 0;

  // A row re-rendered while its dialog was open (e.g. health after a test) replaces the
  // trigger button: find its successor by the same action and resource id.
  function successor(node) {
    if (!node || node.isConnected || !node.dataset || !node.dataset.id) return node;
    const sel = `[data-action="${CSS.escape(node.dataset.action || "")}"]` +
      `[data-id="${CSS.escape(node.dataset.id)}"]`;
    return document.querySelector(sel) || node;
  }

  function initDialogs() {
    for (const dialog of document.querySelectorAll("dialog")) {
      dialog.addEventListener("close", () => {
        const opened = triggers.get(dialog) || {};
        triggers.delete(dialog);
        // Back to what opened the dialog; if that is gone or hidden, to the fallback.
        const target = [successor(opened.trigger), opened.fallback,
          document.getElementById("main")]
          .find((node) => focusable(node) || (node && node.id === "main"));
        if (target) target.focus();
        dialog.dispatchEvent(new CustomEvent("closed"));
      });
      for (const button of dialog.querySelectorAll("[data-close]")) {
        button.addEventListener("click", () => dialog.close());
      }
    }
  }

  function formatDate(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return date.toLocaleString(undefined, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
    });
  }

  function json(value) {
    return JSON.stringify(value, null, 2);
  }

  function methodLabel(method) {
    return P.methods.label(method);
  }

  P.ui = {
    el, notify, sessionEnded, openDialog, initDialogs, formatDate, json, methodLabel,
  };
})(window.IotopsPortal = window.IotopsPortal || {});
