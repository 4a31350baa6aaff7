// boot.js starts GraphiQL for the exactql playground. It is loaded after the
// vendored React, ReactDOM and GraphiQL bundles and reads its settings from the
// JSON block the server wrote into the page, so no inline script is needed and
// the Content-Security-Policy can stay at script-src 'self'.
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  function fail(msg) {
    root.textContent = "The playground could not start: " + msg;
  }

  var cfg;
  try {
    cfg = JSON.parse(document.getElementById("exactql-playground-config").textContent);
  } catch (e) {
    fail("its settings are unreadable.");
    return;
  }
  if (!window.React || !window.ReactDOM || !window.GraphiQL) {
    fail("a script did not load.");
    return;
  }
  // Libraries inside the GraphiQL bundle add <style> elements (the dialogs'
  // scroll lock) and take their nonce from this global; the page's policy only
  // admits inline styles carrying the per-response nonce.
  if (cfg.styleNonce) {
    window.__webpack_nonce__ = cfg.styleNonce;
  }

  function fetcher(params, opts) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    var extra = (opts && opts.headers) || {};
    Object.keys(extra).forEach(function (k) {
      headers[k] = String(extra[k]);
    });
    return fetch(cfg.endpoint, {
      method: "POST",
      headers: headers,
      body: JSON.stringify(params),
      credentials: "same-origin",
    }).then(function (res) {
      return res.text().then(function (text) {
        try {
          return JSON.parse(text);
        } catch (e) {
          return { errors: [{ message: "HTTP " + res.status + " " + res.statusText + ": " + text.slice(0, 500) }] };
        }
      });
    });
  }

  var props = { fetcher: fetcher };
  if (cfg.defaultQuery) {
    props.defaultQuery = cfg.defaultQuery;
  }
  var names = Object.keys(cfg.defaultHeaders || {});
  if (names.length > 0) {
    // Headers are not persisted (GraphiQL's default), so every tab, new or
    // restored, starts with these.
    props.defaultHeaders = JSON.stringify(cfg.defaultHeaders, null, 2);
    props.defaultEditorToolsVisibility = "headers";
  }

  root.textContent = "";
  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, props));
})();
