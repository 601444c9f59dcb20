// @ts-check: the operator's dashboard (GET /admin), inlined as text and allowed by its CSP hash; see ../admin-script.ts.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var DAYS = 14;
  /** @param {string} id @returns {any} */
  var byId = function (id) {
    return document.getElementById(id);
  };
  var tokenForm = byId("token-form"),
    tokenInput = byId("admin-token"),
    tokenError = byId("token-error");
  var dashboard = byId("dashboard"),
    status = byId("status"),
    reload = byId("reload"),
    forget = byId("forget");
  var lookupForm = byId("lookup-form"),
    lookupInput = byId("lookup-phone"),
    lookupError = byId("lookup-error"),
    numberView = byId("number-view"),
    numberFacts = byId("number-facts"),
    unlockButton = byId("unlock"),
    revokeButton = byId("revoke"),
    actionNote = byId("action-note"),
    blocksNote = byId("blocks-note");

  /** The dashboard's words for the failure reasons of /admin/stats; an unknown reason shows as it is. */
  var REASONS = new Map([
    ["sms_refused", "Gateways refused"],
    ["sms_no_answer", "No gateway answer"],
    ["number_refused", "Number refused"],
    ["wrong_code", "Wrong code"],
    ["rate_limited", "Rate limited"],
    ["too_many_attempts", "Too many tries"],
    ["sms_budget_exhausted", "Budget used up"],
    ["fraud_suspected", "Range blocked"],
  ]);

  /** Redraws the charts from the figures last loaded (after a resize); null before the first load. */
  var redraw = null;

  /** Held in this variable only: never in storage, a cookie or the URL. */
  var token = "";
  var shownPhone = "";

  /** @param {string} path @param {RequestInit} [init] */
  async function call(path, init) {
    var res = await fetch(path, {
      method: (init && init.method) || "GET",
      headers: { accept: "application/json", authorization: `Bearer ${token}` },
    });
    var body = null;
    if (res.status !== 204) {
      try {
        body = await res.json();
      } catch {
        body = null;
      }
    }
    if (res.status === 401) signOut("The token was not accepted. Enter it again.");
    return { ok: res.ok, status: res.status, body: body };
  }

  function signOut(message) {
    token = "";
    dashboard.hidden = true;
    tokenForm.hidden = false;
    tokenError.textContent = message || "";
    tokenInput.focus();
  }

  /** YYYY-MM-DD of today minus `back` days, in UTC. @param {number} back */
  function dayBefore(back) {
    var now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - back))
      .toISOString()
      .slice(0, 10);
  }

  /** Each day's figures, at most 3 requests at a time; a day that fails is null. @returns {Promise<any[]>} */
  async function loadDays() {
    var days = [];
    for (var back = DAYS - 1; back >= 0; back -= 1) days.push(dayBefore(back));
    var out = new Array(days.length);
    var next = 0;
    async function worker() {
      while (next < days.length && token) {
        var i = next++;
        var res = await call(`/admin/stats?day=${days[i]}`);
        out[i] = res.ok ? res.body : null;
      }
    }
    await Promise.all([worker(), worker(), worker()]);
    return out;
  }

  function pct(x) {
    return `${(Math.round(x * 1000) / 10).toString()} %`;
  }

  function setFigure(name, text) {
    var el = byId(`fig-${name}`);
    if (el) el.textContent = text;
  }

  function clear(el) {
    while (el.firstChild) el.removeChild(el.firstChild);
  }

  /** @param {string} name @param {Record<string, string | number>} attrs @param {string} [text] */
  function svgEl(name, attrs, text) {
    var el = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) {
      el.setAttribute(k, String(attrs[k]));
    });
    if (text !== undefined) el.textContent = text;
    return el;
  }

  /**
   * The chart's width in CSS pixels: charts are drawn one unit to a pixel, so
   * their text is the font size the stylesheet gives it, however wide the card.
   * @param {any} svg
   */
  function widthOf(svg) {
    return Math.max(240, Math.round(svg.getBoundingClientRect().width) || 560);
  }

  /**
   * Every how many slots a text fits, so that neighbours never overlap.
   * @param {number} slot @param {number} chars @param {number} size
   */
  function stepFor(slot, chars, size) {
    return Math.max(1, Math.ceil((chars * size * 0.62 + 6) / slot));
  }

  /**
   * Vertical bars, one per day, with the value above and the day below (as
   * many as fit, counted back from today; each bar's title has its own).
   * @param {any} svg @param {{ label: string, value: number, text: string }[]} points @param {number} max
   */
  function columns(svg, points, max) {
    clear(svg);
    var w = widthOf(svg),
      h = 200,
      top = 22,
      bottom = 26,
      gap = 4;
    var bw = (w - gap * (points.length - 1)) / points.length;
    var longest = points.reduce(function (m, p) {
      return Math.max(m, p.text.length);
    }, 1);
    var valueStep = stepFor(bw + gap, longest, 12),
      axisStep = stepFor(bw + gap, 5, 12);
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    points.forEach(function (p, i) {
      var x = i * (bw + gap);
      var back = points.length - 1 - i;
      var bh = max > 0 ? ((h - top - bottom) * p.value) / max : 0;
      var bar = svgEl("rect", { x: x, y: h - bottom - bh, width: bw, height: Math.max(bh, 0.5), class: "bar" });
      bar.appendChild(svgEl("title", {}, `${p.label}: ${p.text}`));
      svg.appendChild(bar);
      // A short value ("0", "–") fits its own slot; longer ones every valueStep-th bar.
      if (back % valueStep === 0 || stepFor(bw + gap, p.text.length, 12) === 1) {
        svg.appendChild(svgEl("text", { x: x + bw / 2, y: h - bottom - bh - 5, class: "value" }, p.text));
      }
      if (back % axisStep === 0)
        svg.appendChild(svgEl("text", { x: x + bw / 2, y: h - 7, class: "axis" }, p.label.slice(5)));
    });
  }

  /**
   * Horizontal bars with their label and value; `title` (the raw reason) goes in the bar's tooltip.
   * @param {any} svg @param {{ label: string, value: number, max?: number, title?: string }[]} rows @param {string} empty
   */
  function rowsChart(svg, rows, empty) {
    clear(svg);
    var w = widthOf(svg),
      rh = 28;
    var h = Math.max(1, rows.length) * rh + 4;
    svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
    if (rows.length === 0) {
      svg.appendChild(svgEl("text", { x: 4, y: 18, class: "label" }, empty));
      return;
    }
    var max = rows.reduce(function (m, r) {
      return Math.max(m, r.max || r.value);
    }, 0);
    var labelWidth = Math.min(170, Math.round(w * 0.38)),
      valueWidth = 100;
    var full = w - labelWidth - valueWidth - 8;
    rows.forEach(function (r, i) {
      var y = i * rh + 2;
      svg.appendChild(svgEl("text", { x: 4, y: y + 18, class: "label" }, r.label));
      if (r.max) svg.appendChild(svgEl("rect", { x: labelWidth, y: y + 5, width: full, height: 16, class: "track" }));
      var bw = max > 0 ? (full * r.value) / max : 0;
      var bar = svgEl("rect", { x: labelWidth, y: y + 5, width: Math.max(bw, 0.5), height: 16, class: "bar" });
      bar.appendChild(svgEl("title", {}, `${r.title || r.label}: ${r.value}`));
      svg.appendChild(bar);
      svg.appendChild(
        svgEl("text", { x: w - 4, y: y + 18, class: "label end" }, r.max ? `${r.value} of ${r.max}` : String(r.value)),
      );
    });
  }

  async function load() {
    status.textContent = "Loading the last 14 days…";
    var days = await loadDays();
    if (!token) return;
    var today = days[days.length - 1];
    if (!today) {
      status.textContent = "Today's figures could not be read. Try Reload.";
      return;
    }
    [
      "sends",
      "sms_sent",
      "sms_failed",
      "voice_calls",
      "verifications_succeeded",
      "verifications_failed",
      "numbers_sent",
      "numbers_verified",
    ].forEach(function (k) {
      setFigure(k, String(today[k]));
    });
    // Refused sends are their own figure: they are in neither the sends nor the conversion.
    setFigure("refused", String(today.refused.total));
    setFigure("conversion_rate", pct(today.conversion_rate));
    setFigure("budget", `${today.budget.used} of ${today.budget.limit}`);
    byId("today-day").textContent = today.day;

    var known = days.filter(Boolean);
    redraw = function () {
      drawCharts(today, known);
    };
    redraw();
    var gateways = Object.keys(today.by_gateway).map(function (g) {
      return `${g}: ${today.by_gateway[g].sent} sent, ${today.by_gateway[g].failed} failed`;
    });
    byId("gateways").textContent = gateways.length ? gateways.join(" · ") : "No gateway used today.";
    var countries = Object.keys(today.by_country).map(function (c) {
      return `${c}: ${today.by_country[c]}`;
    });
    byId("countries").textContent = countries.length ? countries.join(" · ") : "No codes sent today.";
    var refusals = Object.keys(today.refused.by_reason).map(function (r) {
      return `${REASONS.get(r) ?? r}: ${today.refused.by_reason[r]}`;
    });
    byId("refusals").textContent = refusals.length ? refusals.join(" · ") : "No sends refused today.";
    byId("fraud").textContent = `${today.fraud.ranges_blocked} blocked · ${today.fraud.blocks_lifted} lifted`;
    showDelivery(today.delivery);
    await loadBlocks();
    status.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  }

  /** Today's delivery table, a row per gateway and channel, and the failures reported by reason. @param {any} delivery */
  function showDelivery(delivery) {
    var rows = byId("delivery-rows");
    clear(rows);
    var seconds = function (s) {
      return s === null ? "–" : `≤ ${s} s`;
    };
    Object.keys(delivery.by_gateway).forEach(function (g) {
      Object.keys(delivery.by_gateway[g]).forEach(function (ch) {
        var r = delivery.by_gateway[g][ch];
        var tr = document.createElement("tr");
        [
          g,
          ch,
          String(r.sent),
          String(r.delivered),
          String(r.failed),
          String(r.unreported),
          String(r.fallbacks),
          seconds(r.p50_seconds),
          seconds(r.p95_seconds),
        ].forEach(function (text, i) {
          var cell = document.createElement(i === 0 ? "th" : "td");
          if (i === 0) cell.setAttribute("scope", "row");
          cell.textContent = text;
          tr.appendChild(cell);
        });
        rows.appendChild(tr);
      });
    });
    if (!rows.firstChild) {
      var tr = document.createElement("tr");
      var td = document.createElement("td");
      td.setAttribute("colspan", "9");
      td.className = "muted";
      td.textContent = "No messages sent today.";
      tr.appendChild(td);
      rows.appendChild(tr);
    }
    var reasons = Object.keys(delivery.failures_by_reason).map(function (k) {
      return `${k}: ${delivery.failures_by_reason[k]}`;
    });
    byId("delivery-failures").textContent = reasons.length ? reasons.join(" · ") : "No failures reported today.";
  }

  /** The four charts, from today's figures and the days that could be read. @param {any} today @param {any[]} known */
  function drawCharts(today, known) {
    var maxSends = known.reduce(function (m, d) {
      return Math.max(m, d.sends);
    }, 0);
    columns(
      byId("chart-sends"),
      known.map(function (d) {
        return { label: d.day, value: d.sends, text: String(d.sends) };
      }),
      maxSends,
    );
    columns(
      byId("chart-conversion"),
      known.map(function (d) {
        return { label: d.day, value: d.conversion_rate, text: d.numbers_sent ? pct(d.conversion_rate) : "–" };
      }),
      1,
    );
    rowsChart(
      byId("chart-failures"),
      Object.keys(today.failures)
        .sort(function (a, b) {
          return today.failures[b] - today.failures[a];
        })
        .map(function (k) {
          var words = REASONS.get(k);
          return words
            ? { label: words, title: `${words} (${k})`, value: today.failures[k] }
            : { label: k, value: today.failures[k] };
        }),
      "No failures today.",
    );
    rowsChart(
      byId("chart-budget"),
      known
        .slice(-7)
        .reverse()
        .map(function (d) {
          return { label: d.day, value: d.budget.used, max: d.budget.limit };
        }),
      "No budget used.",
    );
  }

  /** The fraud guard's active blocks (GET /admin/blocks), a row each with a Lift button. */
  async function loadBlocks() {
    var res = await call("/admin/blocks");
    if (!token) return;
    var rows = byId("block-rows");
    clear(rows);
    if (!res.ok) {
      blocksNote.textContent = String((res.body && res.body.detail) || `The blocks could not be read (${res.status}).`);
      return;
    }
    blocksNote.textContent = res.body.blocks.length ? "" : "No number range is blocked.";
    res.body.blocks.forEach(function (b) {
      var tr = document.createElement("tr");
      [b.range, when(b.since), when(b.until), String(b.unverified), String(b.times_today)].forEach(function (text) {
        var td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      });
      var td = document.createElement("td");
      var lift = document.createElement("button");
      lift.type = "button";
      lift.className = "secondary";
      lift.textContent = "Lift";
      lift.setAttribute("aria-label", `Lift the block on ${b.range}`);
      lift.addEventListener("click", function () {
        void liftBlock(b.range);
      });
      td.appendChild(lift);
      tr.appendChild(td);
      rows.appendChild(tr);
    });
  }

  /** @param {string} range */
  async function liftBlock(range) {
    var res = await call(`/admin/blocks/${encodeURIComponent(range)}`, { method: "DELETE" });
    if (!token) return;
    if (!res.ok) {
      blocksNote.textContent = String((res.body && res.body.detail) || `That failed (${res.status}).`);
      return;
    }
    await loadBlocks();
    blocksNote.textContent = `Lifted: ${range} can get codes again.`;
  }

  function fact(term, value) {
    var dt = document.createElement("dt");
    dt.textContent = term;
    var dd = document.createElement("dd");
    dd.textContent = value;
    dd.setAttribute("data-fact", term);
    numberFacts.appendChild(dt);
    numberFacts.appendChild(dd);
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : "";
  }

  async function lookup(phone) {
    lookupError.textContent = "";
    var res = await call(`/admin/numbers/${encodeURIComponent(phone)}`);
    if (!token) return;
    if (!res.ok) {
      numberView.hidden = true;
      lookupError.textContent = String((res.body && res.body.detail) || `The look-up failed (${res.status}).`);
      return;
    }
    var n = res.body;
    shownPhone = n.phone;
    clear(numberFacts);
    fact("number", n.phone);
    fact("sends in the last hour", String(n.sends_last_hour));
    fact("wrong codes in the last 24 hours", String(n.failures_last_day));
    fact(
      "locked",
      n.locked_until
        ? `until ${when(n.locked_until)} (${n.number_locked ? "every network" : `${n.clients_locked} network(s)`})`
        : "no",
    );
    fact(
      "live code",
      n.live_code ? `expires ${when(n.live_code.expires_at)}, ${n.live_code.attempts_left} tries left` : "none",
    );
    fact("sessions", String(n.sessions));
    fact(
      "last SMS",
      n.last_sms
        ? `${n.last_sms.outcome} via ${n.last_sms.gateway} (${n.last_sms.channel}) at ${when(n.last_sms.at)}`
        : "none",
    );
    numberView.hidden = false;
  }

  async function act(method, suffix, done) {
    if (!shownPhone) return;
    actionNote.textContent = "";
    var res = await call(`/admin/numbers/${encodeURIComponent(shownPhone)}${suffix}`, { method: method });
    if (!token) return;
    if (!res.ok) {
      actionNote.textContent = String((res.body && res.body.detail) || `That failed (${res.status}).`);
      return;
    }
    await lookup(shownPhone);
    actionNote.textContent = done;
  }

  tokenForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    token = tokenInput.value.trim();
    tokenInput.value = "";
    if (!token) {
      tokenError.textContent = "Enter the admin token.";
      return;
    }
    tokenError.textContent = "";
    var probe = await call(`/admin/stats?day=${dayBefore(0)}`);
    if (!probe.ok) {
      if (probe.status !== 401)
        signOut(String((probe.body && probe.body.detail) || `The service answered ${probe.status}.`));
      return;
    }
    tokenForm.hidden = true;
    dashboard.hidden = false;
    await load();
  });
  var resizing = 0;
  window.addEventListener("resize", function () {
    if (resizing) cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(function () {
      resizing = 0;
      if (redraw && token && !dashboard.hidden) redraw();
    });
  });
  reload.addEventListener("click", function () {
    void load();
  });
  forget.addEventListener("click", function () {
    signOut("");
  });
  lookupForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var phone = lookupInput.value.trim();
    if (!phone) {
      lookupError.textContent = "Enter a number.";
      return;
    }
    void lookup(phone);
  });
  unlockButton.addEventListener("click", function () {
    void act("POST", "/unlock", "Unlocked: the number can get a code now.");
  });
  revokeButton.addEventListener("click", function () {
    void act("DELETE", "/sessions", "Every session of the number has ended.");
  });
})();
