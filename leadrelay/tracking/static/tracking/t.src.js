/*
 * LeadRelay tracking snippet (readable source). Served minified at /t.js by leadrelay.tracking.snippet.
 *
 *   <script async src="https://leadrelay.example/t.js" data-site="KEY"></script>
 *
 * Optional attributes: data-consent="opt_in|opt_out|none" (default opt_out), data-dnt="0" to ignore
 * Do Not Track, data-form="FORMKEY" to insert that inquiry form after the script tag.
 * API: leadrelay.identify({email, first_name, last_name, company, phone, title}),
 *      leadrelay.track(name, props), leadrelay.page(), leadrelay.consent(true|false).
 *
 * Rules for this file (the minifier is simple): end every statement with a semicolon, no regular
 * expression literals, no template literals, comments only on their own lines.
 */
(function (w, d, n) {
  var s = d.currentScript;
  if (!s) {
    return;
  }
  var o = new URL(s.src).origin;
  var L = w.leadrelay;
  var ls = null;
  var P = "_lr_";
  try {
    ls = w.localStorage;
  } catch (e) {
    ls = null;
  }

  function get(k) {
    var v = null;
    var parts = ("; " + d.cookie).split("; " + P + k + "=");
    if (parts.length > 1) {
      v = parts[1].split(";")[0];
    }
    if (!v && ls) {
      try {
        v = ls.getItem(P + k);
      } catch (e) {
        v = null;
      }
    }
    return v;
  }

  function put(k, v, days) {
    d.cookie = P + k + "=" + v + ";path=/;max-age=" + (v ? days * 864e2 : 0) + ";samesite=lax" +
      (location.protocol == "https:" ? ";secure" : "");
    if (ls) {
      try {
        if (v) {
          ls.setItem(P + k, v);
        } else {
          ls.removeItem(P + k);
        }
      } catch (e) {
        ls = null;
      }
    }
  }

  function uid() {
    var c = w.crypto;
    var a = [];
    var h = "";
    var i;
    if (c && c.randomUUID) {
      return c.randomUUID();
    }
    if (c && c.getRandomValues) {
      a = c.getRandomValues(new Uint8Array(16));
    } else {
      for (i = 0; i < 16; i++) {
        a[i] = Math.floor(Math.random() * 256);
      }
    }
    for (i = 0; i < 16; i++) {
      h += (a[i] + 256).toString(16).slice(1);
    }
    return h;
  }

  if (!L || !L.v) {
    var site = s.getAttribute("data-site");
    var mode = s.getAttribute("data-consent") || "opt_out";
    var dnt = s.getAttribute("data-dnt") != "0" &&
      (n.doNotTrack == "1" || w.doNotTrack == "1" || n.globalPrivacyControl === true);
    var last = d.referrer;
    var viewed = false;

    var allowed = function () {
      var c = get("c");
      if (dnt || !site) {
        return false;
      }
      if (mode == "opt_in") {
        return c == "1";
      }
      return mode == "none" || c != "0";
    };

    var visitor = function () {
      var v = get("v") || uid();
      put("v", v, 730);
      return v;
    };

    var send = function (type, extra) {
      if (!allowed()) {
        return false;
      }
      var now = Date.now();
      var sv = (get("s") || "").split(".");
      var sid = sv[0];
      if (!sid || now - sv[1] > 18e5) {
        sid = uid();
      }
      put("s", sid + "." + now, 1);
      var e = {event_id: uid(), type: type, url: location.href, title: d.title, referrer: last, ts: now};
      for (var k in extra) {
        e[k] = extra[k];
      }
      var body = JSON.stringify({
        site: site, visitor_id: visitor(), session_id: sid, consent: get("c") == "1" ? true : null, events: [e]
      });
      var url = o + "/collect";
      if (!(n.sendBeacon && n.sendBeacon(url, body))) {
        try {
          w.fetch(url, {method: "POST", body: body, keepalive: true, credentials: "omit", mode: "cors"});
        } catch (err) {
          return false;
        }
      }
      return true;
    };

    var page = function () {
      var q = new URLSearchParams(location.search);
      var utm = {};
      ["source", "medium", "campaign", "term", "content"].forEach(function (k) {
        if (q.get("utm_" + k)) {
          utm["utm_" + k] = q.get("utm_" + k);
        }
      });
      if (send("page_view", {utm: utm})) {
        viewed = true;
        last = location.href;
      }
    };

    L = w.leadrelay = {
      v: 1,
      page: page,
      track: function (name, props) {
        return send("custom", {name: String(name), props: props || {}});
      },
      identify: function (person) {
        return !!(person && person.email) && send("identify", {props: person});
      },
      consent: function (granted) {
        put("c", granted ? "1" : "0", 365);
        if (!granted) {
          put("v", "", 0);
          put("s", "", 0);
        } else if (!viewed) {
          page();
        }
      },
      visitorId: function () {
        return allowed() ? visitor() : null;
      },
      form: function (el, key) {
        var f = d.createElement("iframe");
        var v = L.visitorId();
        f.src = o + "/f/" + encodeURIComponent(key) + "/?u=" + encodeURIComponent(location.href) +
          (v ? "&v=" + v : "");
        f.title = key;
        f.className = "leadrelay-form";
        f.style.width = "100%";
        f.style.border = "0";
        f.style.minHeight = "420px";
        el.parentNode.insertBefore(f, el.nextSibling);
      }
    };

    w.addEventListener("message", function (e) {
      var h = e.origin == o && e.data && e.data.leadrelayFormHeight;
      var frames = d.querySelectorAll("iframe.leadrelay-form");
      for (var i = 0; h && i < frames.length; i++) {
        if (frames[i].contentWindow == e.source) {
          frames[i].style.height = Math.min(+h, 5e3) + "px";
        }
      }
    });
    var push = history.pushState;
    history.pushState = function () {
      push.apply(history, arguments);
      setTimeout(page, 0);
    };
    w.addEventListener("popstate", page);
    page();
    d.dispatchEvent(new Event("leadrelay:ready"));
  }
  if (s.getAttribute("data-form")) {
    L.form(s, s.getAttribute("data-form"));
  }
})(window, document, navigator);
