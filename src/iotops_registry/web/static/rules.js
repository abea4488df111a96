/* Validation rules, mirrored from iotops_registry/domain/rules.py (same checks, same order,
   same messages) so the wizard can show the server's rules while the user types. The server
   checks everything again; a test compares both implementations on the same inputs. */
"use strict";
(function (P) {
  const NAME_RE = /^[a-z0-9][a-z0-9-]*[a-z0-9]$/;
  const GUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
  const LABEL_RE = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
  const PATH_COMPONENT_RE = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/;
  const K8S_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
  const K8S_NAME_RE = new RegExp("^" + K8S_LABEL + "(\\." + K8S_LABEL + ")*$");
  const KV_NAME_RE = /^[0-9a-zA-Z-]{1,127}$/;
  const HOST_MIN = 3;
  const HOST_MAX = 63;

  const chars = (s) => Array.from(s);
  const clip = (s, n) => chars(s).slice(0, n).join("");
  const hasSpace = (s) => /\s/u.test(s);
  const isDigits = (s) => /^[0-9]+$/.test(s);

  function checkResourceName(value) {
    const n = chars(value).length;
    if (n < 3 || n > 63) {
      return `The name must be 3 to 63 characters long; '${clip(value, 70)}' has ${n}.`;
    }
    if (!NAME_RE.test(value)) {
      return `The name '${value}' is invalid. Use lowercase letters, digits and hyphens, ` +
        "starting and ending with a letter or digit.";
    }
    return null;
  }

  function checkGuid(value, what) {
    if (!GUID_RE.test(value)) {
      return `The ${what} must be a GUID such as 00000000-0000-0000-0000-000000000000.`;
    }
    return null;
  }

  function checkPort(port) {
    if (!isDigits(port) || Number(port) < 1 || Number(port) > 65535) {
      return `The port '${clip(port, 10)}' must be a number from 1 to 65535.`;
    }
    return null;
  }

  function isIPv4(name) {
    const parts = name.split(".");
    return parts.length === 4 &&
      parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255);
  }

  function isIPv6(address) {
    if (!/^[0-9A-Fa-f:.]+$/.test(address) || !address.includes(":")) return false;
    try {
      new URL(`https://[${address}]/`);
      return true;
    } catch (_) {
      return false;
    }
  }

  function checkHostname(host) {
    if (host.startsWith("[")) {
      const end = host.indexOf("]");
      if (end < 0) return "The IPv6 address is missing its closing ']'.";
      if (!isIPv6(host.slice(1, end))) {
        return `'${host.slice(0, end + 1)}' is not a valid IPv6 address.`;
      }
      const rest = host.slice(end + 1);
      if (rest && !rest.startsWith(":")) return "Only ':port' may follow an IPv6 address.";
      return rest ? checkPort(rest.slice(1)) : null;
    }
    const colon = host.indexOf(":");
    const name = colon < 0 ? host : host.slice(0, colon);
    if (colon >= 0) {
      const problem = checkPort(host.slice(colon + 1));
      if (problem) return problem;
    }
    if (!name) return "The host name is empty.";
    if (name.split(".").every(isDigits)) {
      return isIPv4(name) ? null : `'${name}' is not a valid IPv4 address.`;
    }
    if (chars(name).length > 253) return "The host name is longer than 253 characters.";
    for (const label of name.replace(/\.+$/, "").split(".")) {
      if (!LABEL_RE.test(label)) {
        return `'${name}' is not a valid host name: each dot-separated label must be 1 to 63 ` +
          "letters, digits or hyphens, not starting or ending with a hyphen.";
      }
    }
    return null;
  }

  function checkHost(value) {
    const sep = value.indexOf("://");
    if (sep >= 0) {
      const scheme = value.slice(0, sep);
      const rest = value.slice(sep + 3).replace(/\/+$/, "");
      return `The host must not include a scheme. Drop '${scheme}://' and use '${rest}'.`;
    }
    const n = chars(value).length;
    if (n < HOST_MIN || n > HOST_MAX) {
      return `The host must be ${HOST_MIN} to ${HOST_MAX} characters long.`;
    }
    if (hasSpace(value)) return "The host must not contain whitespace.";
    if (value.includes("@")) {
      return "The host must not contain user information ('user@'); use authentication settings.";
    }
    if (value.includes("?") || value.includes("#")) {
      return "The host must not contain a query string or fragment.";
    }
    const slash = value.indexOf("/");
    const host = slash < 0 ? value : value.slice(0, slash);
    const problem = checkHostname(host);
    if (problem) return problem;
    if (slash >= 0) {
      const path = value.slice(slash + 1);
      if (!path || path.endsWith("/")) {
        return "The path prefix after the host must not be empty or end with '/'.";
      }
      for (const component of path.split("/")) {
        if (!PATH_COMPONENT_RE.test(component)) {
          return `The path segment '${component}' is not a valid repository name component: ` +
            "use lowercase letters and digits, separated by '.', '_', '__' or '-'.";
        }
      }
    }
    return null;
  }

  function checkScope(value) {
    if (hasSpace(value) || !value.endsWith("/.default") || chars(value).length < 10) {
      return "The scope must be a resource identifier ending in '/.default', for example " +
        "'https://containerregistry.azure.net/.default'.";
    }
    return null;
  }

  function checkAudience(value) {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):([\s\S]*)$/.exec(value);
    const scheme = m ? m[1].toLowerCase() : "";
    const rest = m ? m[2] : "";
    const netloc = rest.startsWith("//") ? rest.slice(2).split(/[/?#]/)[0] : "";
    if (scheme !== "https" || !netloc || hasSpace(value)) {
      return "The audience must be an absolute https URI, for example " +
        "'https://management.azure.com/'.";
    }
    return null;
  }

  function checkK8sName(value, what) {
    const n = chars(value).length;
    if (n < 1 || n > 253 || !K8S_NAME_RE.test(value)) {
      return `The ${what} '${clip(value, 80)}' is not a valid Kubernetes name: use at most 253 ` +
        "lowercase letters, digits, '-' and '.', starting and ending with a letter or digit.";
    }
    return null;
  }

  function checkKvName(value) {
    if (!KV_NAME_RE.test(value)) {
      return `'${clip(value, 130)}' is not a valid Key Vault secret name: use 1 to 127 ` +
        "letters, digits and hyphens.";
    }
    return null;
  }

  P.rules = {
    checkResourceName, checkGuid, checkHost, checkScope, checkAudience, checkK8sName,
    checkKvName,
  };
})(window.IotopsPortal = window.IotopsPortal || {});
