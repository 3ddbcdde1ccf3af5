/* npnet walkthrough: the panel of one unit: its forward arithmetic with the real numbers (backward.js   */
/* writes where its gradient came from, and what it hands on). Every number is a span with data-value    */
/* (the number itself)
/* and data-ref (the array and index of the page's JSON it is read from) or data-equals (an engine array */
/* it was computed to equal, from rounded numbers) or data-computed (an intermediate sum).              */
(function () {
  "use strict";
  const NW = window.npnetWalkthrough, data = NW.data, columns = NW.columns, names = data.names;
  const panel = document.getElementById("panel"), body = panel.querySelector(".panel-body");
  const title = document.getElementById("panel-title");
  const SHOWN = 8;       /* terms listed; the rest are summed in one row */

  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (ch) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[ch];
    });
  }
  function fmt(v) {
    if (v === 0) { return "0"; }
    const a = Math.abs(v);
    const text = a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(4))) : v.toExponential(3);
    return text.replace("-", "\u2212");
  }
  function span(v, kind, what) {
    return '<span class="num" data-' + kind + '="' + esc(what) + '" data-value="' + v + '">' + fmt(v) + "</span>";
  }
  /* inside a grid: 3 significant digits (the exact value stays in data-value and the tooltip) */
  function short(html) {
    return html.replace(/data-value="([^"]*)">[^<]*</, function (all, v) {
      return 'data-value="' + v + '" title="' + v + '">' + NW.fmtShort(Number(v)) + "<";
    });
  }
  function ref(v, what) { return span(v, "ref", what); }
  function equals(v, what) { return span(v, "equals", what); }
  function computed(v, what) { return span(v, "computed", what); }
  function at(col, u) { return col.kind === "maps" ? "[" + u.i + "," + u.j + "," + u.c + "]" : "[" + u.c + "]"; }
  function value(col, arrayName, u) { return (arrayName === "output" ? col.out : col.dout)[NW.index(col, u)]; }
  function cite(col, arrayName, u) { return ref(value(col, arrayName, u), col.name + "." + arrayName + at(col, u)); }
  function where(col, u) {
    return col.kind === "maps" ? "(" + u.i + ", " + u.j + ", " + u.c + ")" : "unit " + u.c;
  }
  const CHANNELS = ["red", "green", "blue"];
  function channelName(col, c) { return col.k === 0 && col.C === 3 ? CHANNELS[c] : String(c); }
  function sum(list) { return list.reduce(function (a, b) { return a + b; }, 0); }
  function kernelAt(col, a, b, c, f) {
    const k = col.block.kernel_size;
    const C = col.kernel.length / (k[0] * k[1] * col.C);
    return col.kernel[((a * k[1] + b) * C + c) * col.C + f];
  }
  function isOn(col, u) { return !col.relu || value(col, "output", u) > 0; }
  function dz(col, u) { return isOn(col, u) ? value(col, "doutput", u) : 0; }
  function inside(col, i, j) { return i >= 0 && j >= 0 && i < col.H && j < col.W; }
  /* the real layer under a Flatten or Dropout (the values they pass are the same numbers) */
  function source(col) { while (col.kind === "pass" && col.k > 0) { col = NW.column(col.block.below); } return col; }

  /* a kh x kw grid of numbers, one cell per (a, b); cell(a, b) returns the cell's HTML */
  function grid(kh, kw, cell, winner) {
    let html = '<table class="mini">';
    for (let a = 0; a < kh; a++) {
      html += "<tr>";
      for (let b = 0; b < kw; b++) { html += "<td" + (winner && winner[0] === a && winner[1] === b ? ' class="win"' : "") + ">" + short(cell(a, b)) + "</td>"; }
      html += "</tr>";
    }
    return html + "</table>";
  }

  /* rows sorted by size, the first `shown` visible, the others behind a <details> */
  function rowsShown(rows, head, shown, what) {
    const order = rows.slice().sort(function (x, y) { return Math.abs(y.size) - Math.abs(x.size); });
    const table = function (part) {
      return '<div class="wide"><table class="terms">' + head + part.map(function (r) { return r.html; }).join("") + "</table></div>";
    };
    let html = table(order.slice(0, shown));
    if (order.length > shown) {
      const hidden = order.slice(shown), zeros = hidden.filter(function (r) { return r.size === 0; }).length;
      html += "<details><summary>the other " + hidden.length + " " + what + (zeros ? " (" + zeros + " of them 0)" : "") + "</summary>" +
        table(hidden) + "</details>";
    }
    return html;
  }

  /* -- forward ------------------------------------------------------------------------------------- */
  function forwardInput(col, u) {
    const pixel = data.input.pixels[u.i][u.j][u.c];
    return "<p>The pixel's " + ["red", "green", "blue"][u.c] + " value " + ref(pixel, "input.pixels" + at(col, u)) +
      " (of 255), after the model's preprocessing (" + esc(data.preprocessing) + "): x = " + cite(col, "output", u) + ".</p>";
  }

  function convRows(col, u, perRow) {
    const block = col.block, below = NW.column(block.below), kh = block.kernel_size[0], kw = block.kernel_size[1];
    const top = block.padding[0][0], left = block.padding[1][0], rows = [];
    for (let c = 0; c < below.C; c++) {
      const patch = [], weights = [];
      for (let a = 0; a < kh; a++) {
        for (let b = 0; b < kw; b++) {
          const i = u.i + a - top, j = u.j + b - left;
          patch.push(inside(below, i, j) ? { v: value(below, "output", { i: i, j: j, c: c }), u: { i: i, j: j, c: c } } : null);
          weights.push(kernelAt(col, a, b, c, u.c));
        }
      }
      rows.push(perRow(c, patch, weights, below, kh, kw));
    }
    return rows;
  }

  function patchCell(below, p) { return p ? cite(below, "output", p.u) : '<span title="padding">0</span>'; }

  function forwardConv(col, u) {
    const block = col.block, kh = block.kernel_size[0], kw = block.kernel_size[1];
    const rows = convRows(col, u, function (c, patch, weights, below) {
      const products = patch.map(function (p, n) { return (p ? p.v : 0) * weights[n]; }), total = sum(products);
      const html = "<tr><td class=\"label\">" + channelName(below, c) + "</td><td>" + grid(kh, kw, function (a, b) { return patchCell(below, patch[a * kw + b]); }) +
        '</td><td class="op">×</td><td>' + grid(kh, kw, function (a, b) {
          return ref(weights[a * kw + b], col.name + ".kernel[" + a + "," + b + "," + c + "," + u.c + "]"); }) +
        '</td><td class="op">=</td><td>' + grid(kh, kw, function (a, b) { return computed(products[a * kw + b], "product"); }) +
        "</td><td>" + computed(total, "channel sum") + "</td></tr>";
      return { size: total, total: total, html: html };
    });
    const below = NW.column(block.below), total = sum(rows.map(function (r) { return r.total; }));
    const bias = col.bias[u.c], z = total + bias;
    const head = '<tr><th class="label">ch</th><th>input patch</th><th></th><th>kernel</th><th></th><th>products</th><th>sum</th></tr>';
    return "<p>A " + kh + "×" + kw + " patch of all " + below.C + " channels of <code>" + esc(below.name) + "</code>, times filter " +
      u.c + "'s " + kh + "×" + kw + "×" + below.C + " kernel, summed, plus its bias" + (col.relu ? ", then the ReLU" : "") +
      ". One row per input channel, the largest sums first:</p>" + rowsShown(rows, head, 6, "input channels") +
      '<p class="formula">Σ of all ' + kh * kw * below.C + " products = " + computed(total, "sum of products") +
      "<br>+ bias b[" + u.c + "] = " + ref(bias, col.name + ".bias[" + u.c + "]") + "<br>= z = " + computed(z, "z") +
      (col.relu ? "<br>ReLU: A = max(z, 0) = " + cite(col, "output", u) + (z > 0 ? "" : ' <span class="off">(off)</span>') :
        "<br>A = z = " + cite(col, "output", u)) + "</p>";
  }

  function flat1(nested) { return NW.flat(nested); }

  function poolWindow(col, u) {
    const p = col.block.pool_size, w = col.winners[NW.index(col, u)];
    return { p: p, di: Math.floor(w / p), dj: w % p };
  }

  function forwardPool(col, u) {
    const below = NW.column(col.block.below), win = poolWindow(col, u), p = win.p;
    const cell = function (a, b) { return cite(below, "output", { i: u.i * p + a, j: u.j * p + b, c: u.c }); };
    return "<p>The " + p + "×" + p + " window of <code>" + esc(below.name) + "</code>, channel " + u.c + ", rows " + u.i * p + "–" +
      (u.i * p + p - 1) + ", columns " + u.j * p + "–" + (u.j * p + p - 1) + ". The largest wins (marked; on a tie the first):</p>" +
      grid(p, p, cell, [win.di, win.dj]) + '<p class="formula">A = max = ' + cite(col, "output", u) + "  (winner " +
      ref(col.winners[NW.index(col, u)], col.name + ".winners" + at(col, u)) + " = row " + win.di + " · " + p + " + column " + win.dj + ")</p>";
  }

  function inputLabel(col, n) {
    const from = source(col);
    return from.kind === "maps" ? esc(from.name) + " " + where(from, NW.unitAt(from, n)) : "";
  }

  function forwardDense(col, u) {
    const block = col.block, below = NW.column(block.below), terms = block.top_inputs[u.c];
    const rest = block.top_inputs_rest[u.c], D = block.kernel_shape[0];
    const products = terms.map(function (t) { return t[1] * t[2]; });
    const total = sum(products) + rest, bias = col.bias[u.c], z = total + bias;
    const rows = terms.map(function (t, n) {
      return '<tr><td class="label">' + t[0] + ' <span class="note">' + inputLabel(below, t[0]) + "</span></td><td>" +
        ref(t[1], below.name + ".output[" + t[0] + "]") + '</td><td class="op">×</td><td>' +
        ref(t[2], col.name + ".kernel[" + t[0] + "," + u.c + "]") + '</td><td class="op">=</td><td>' + computed(products[n], "product") + "</td></tr>";
    }).join("");
    return "<p>Every one of the " + D.toLocaleString("en") + " inputs times its weight, summed, plus the bias" +
      (col.relu ? ", then the ReLU" : "") + ". The " + terms.length + " largest products:</p>" +
      '<table class="terms"><tr><th class="label">input</th><th>a</th><th></th><th>W</th><th></th><th>a · W</th></tr>' + rows +
      '<tr class="rest"><td class="label" colspan="5">the other ' + (D - terms.length).toLocaleString("en") + " products</td><td>" +
      computed(rest, "sum of the other products") + "</td></tr></table>" +
      '<p class="formula">Σ = ' + computed(total, "sum of products") + "<br>+ bias b[" + u.c + "] = " +
      ref(bias, col.name + ".bias[" + u.c + "]") + "<br>= z = " + computed(z, "z") +
      (col.relu ? "<br>ReLU: A = max(z, 0) = " + cite(col, "output", u) + (z > 0 ? "" : ' <span class="off">(off)</span>') :
        "<br>the logit z = " + cite(col, "output", u) + "; p = softmax(z) = " + ref(flat1(data.loss.probs)[u.c], "loss.probs[" + u.c + "]")) + "</p>";
  }

  /* shared with backward.js, which writes the backward half of the panel */
  NW.panelHelpers = { esc: esc, fmt: fmt, ref: ref, equals: equals, computed: computed, at: at, value: value, cite: cite,
    where: where, channelName: channelName, sum: sum, kernelAt: kernelAt, isOn: isOn, dz: dz, inside: inside, grid: grid,
    rowsShown: rowsShown, convRows: convRows, poolWindow: poolWindow, SHOWN: SHOWN };

  /* -- the panel ------------------------------------------------------------------------------------- */
  function zoom(col, u, a) {
    if (col.kind !== "maps") { return ""; }
    return '<div class="zoom">' + ["forward", "backward"].map(function (dir) {
      return '<figure><canvas class="zoom-canvas" data-dir="' + dir + '" role="img" aria-label="channel ' + u.c + " of " + esc(col.name) +
        (dir === "forward" ? ", forward" : ", backward") + ', enlarged; click a unit to pick it"></canvas><figcaption>' +
        (col.k === 0 ? channelName(col, u.c) + " channel" : "channel " + u.c) + ", " + (dir === "forward" ? a : "dL/d" + a) + "</figcaption></figure>";
    }).join("") + "</div>";
  }

  function drawZoom(canvas, col, u) {
    const dir = canvas.dataset.dir, s = Math.max(4, Math.floor(150 / Math.max(col.H, col.W)));
    canvas.width = col.W * s; canvas.height = col.H * s;
    const context = canvas.getContext("2d"), values = dir === "forward" ? col.out : col.dout;
    for (let i = 0; i < col.H; i++) {
      for (let j = 0; j < col.W; j++) {
        context.fillStyle = "rgb(" + NW.colour(col, dir, values[NW.index(col, { i: i, j: j, c: u.c })]).join(",") + ")";
        context.fillRect(j * s, i * s, s, s);
      }
    }
    context.lineWidth = 3; context.strokeStyle = "#000"; context.strokeRect(u.j * s + 1.5, u.i * s + 1.5, s - 3, s - 3);
    context.lineWidth = 1.5; context.strokeStyle = "#ffd400"; context.strokeRect(u.j * s + 1.5, u.i * s + 1.5, s - 3, s - 3);
    canvas.addEventListener("click", function (event) {
      const box = canvas.getBoundingClientRect();
      const j = Math.floor((event.clientX - box.left) / box.width * col.W), i = Math.floor((event.clientY - box.top) / box.height * col.H);
      if (inside(col, i, j)) { NW.select(col.k, { c: u.c, i: i, j: j }); }
    });
  }

  NW.renderPanel = function (sel) {
    const col = columns[sel.k], u = { c: sel.c, i: sel.i, j: sel.j };
    const what = col.kind === "logits" ? "logit " + u.c + " (" + names[u.c] + ")" : col.kind === "maps" ?
      (col.k === 0 ? channelName(col, u.c) + " channel" : "channel " + u.c) + " · row " + u.i + ", column " + u.j : "unit " + u.c;
    const a = col.k === 0 ? "x" : col.kind === "logits" ? "z" : "A";
    title.textContent = col.name + " · " + what;
    const forward = { Input: forwardInput, Conv2D: forwardConv, MaxPool2D: forwardPool, Dense: forwardDense }[col.type] ||
      function () { return "<p>Computed by " + esc(col.type) + " from <code>" + esc(col.block.below) + "</code>.</p>"; };
    body.innerHTML = '<p class="formula">' + a + " = " + cite(col, "output", u) + " · dL/d" + a + " = " + cite(col, "doutput", u) + "</p>" +
      zoom(col, u, a) + '<section id="panel-forward"><h3>Forward: how ' + a + " was computed</h3>" + forward(col, u) + "</section>" +
      '<section id="panel-backward"><h3 class="bwd">Backward: where dL/d' + a + " came from</h3>" + NW.fromAbove(col, u) +
      '<h3 class="bwd">Backward: what it does with it</h3>' + NW.through(col, u) + "</section>";
    body.querySelectorAll("canvas.zoom-canvas").forEach(function (canvas) { drawZoom(canvas, col, u); });
    panel.hidden = false;
    document.body.classList.add("panel-open");
  };

  function close() {
    panel.hidden = true;
    document.body.classList.remove("panel-open");
    NW.selection = null;
    NW.redraw();
    if (NW.opener && NW.opener.focus) { NW.opener.focus(); }
  }
  panel.querySelector("button.close").addEventListener("click", close);
  document.addEventListener("keydown", function (event) { if (event.key === "Escape" && !panel.hidden) { close(); } });
})();
