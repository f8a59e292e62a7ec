/* mediasync console: the live changes page (templates/console/changes.html).
 *
 * Opens an EventSource on the change feed from the newest change id the page was rendered
 * with, and puts each change it receives at the top of #change-rows. Every value from the
 * feed goes into the page as text (textContent), never as markup. The credential is the
 * console's short-lived grant (never an operator token); when the feed refuses it (expired),
 * a new one is fetched from the console and the stream resumes from the last id seen.
 * Without JavaScript the page is the server's list with a Refresh link.
 */
(function () {
  "use strict";

  var MAX_ROWS = 500;
  var status = document.getElementById("live-status");
  var table = document.getElementById("change-rows");
  if (!status || !table || !window.EventSource || !status.dataset.feedUrl) {
    return;
  }
  var body = table.tBodies[0];
  var data = status.dataset;
  var lastId = parseInt(data.lastId, 10) || 0;
  var grant = data.grant;
  var source = null;
  var delay = 1000;

  var FILTERS = [
    ["public_id", data.filterPublicId],
    ["folder", data.filterFolder],
    ["resource_type", data.filterResourceType]
  ];

  function say(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function feedUrl() {
    var url = new URL(data.feedUrl, window.location.href);
    FILTERS.forEach(function (pair) {
      if (pair[1]) {
        url.searchParams.set(pair[0], pair[1]);
      }
    });
    url.searchParams.set("last_event_id", String(lastId));
    url.searchParams.set("access_token", grant);
    return url.toString();
  }

  function cell(row, text, className) {
    var td = document.createElement("td");
    if (className) {
      td.className = className;
    }
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function when(iso) {
    var stamp = new Date(iso);
    if (isNaN(stamp.getTime())) {
      return String(iso);
    }
    return stamp.toISOString().replace("T", " ").slice(0, 19) + " UTC";
  }

  function show(change) {
    var row = document.createElement("tr");
    row.className = "change live op-" + String(change.op).replace(/[^a-z]/g, "");
    row.dataset.id = String(change.id);
    cell(row, when(change.at), "when");
    cell(row, String(change.op), "op");
    var pid = cell(row, "", "pid");
    var link = document.createElement("a");
    var target = new URL(data.assetUrl, window.location.href);
    target.searchParams.set("public_id", String(change.public_id));
    link.href = target.pathname + target.search;
    link.textContent = String(change.public_id);
    pid.appendChild(link);
    cell(row, String(change.resource_type || ""));
    cell(row, change.asset_folder == null ? "" : String(change.asset_folder), "folder");
    var fields = change.changed ? Object.keys(change.changed).sort() : [];
    cell(row, fields.join(", "), "fields");
    var empty = document.getElementById("no-rows");
    if (empty) {
      empty.remove();
    }
    body.insertBefore(row, body.firstChild);
    while (body.rows.length > MAX_ROWS) {
      body.deleteRow(body.rows.length - 1);
    }
  }

  function onMessage(event) {
    var change;
    try {
      change = JSON.parse(event.data);
    } catch (ignored) {
      return;
    }
    var id = Number(change.id);
    if (!(id > lastId)) {
      return; // already shown (a resumed stream starts after lastId; this is a guard)
    }
    lastId = id;
    show(change);
  }

  function renew() {
    say("connecting", "Reconnecting to the change feed…");
    fetch(data.grantUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) {
        var type = answer.headers.get("Content-Type") || "";
        if (!answer.ok || type.indexOf("application/json") !== 0) {
          throw new Error("session");
        }
        return answer.json();
      })
      .then(function (fresh) {
        grant = fresh.token;
        open();
      })
      .catch(function (problem) {
        if (problem && problem.message === "session") {
          say("error", "Live updates stopped: the console session ended. Reload the page.");
          return;
        }
        window.setTimeout(renew, delay);
        delay = Math.min(delay * 2, 60000);
      });
  }

  function open() {
    if (source) {
      source.close();
    }
    say("connecting", "Connecting to the change feed…");
    source = new EventSource(feedUrl());
    source.onopen = function () {
      delay = 1000;
      say("live", "Live: new changes appear at the top as they happen.");
    };
    source.onmessage = onMessage;
    source.addEventListener("expired", function () {
      say("error", "Live updates stopped: changes were missed beyond the feed's retention. Reload the page.");
      source.close();
    });
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) {
        // refused (an expired grant, or the feed is unreachable): a new grant, then resume
        source.close();
        window.setTimeout(renew, delay);
        delay = Math.min(delay * 2, 60000);
      } else {
        say("connecting", "Reconnecting to the change feed…");
      }
    };
  }

  open();
})();
