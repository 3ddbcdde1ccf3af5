/* npnet walkthrough: the backward half of a unit's panel: where its dL/dA came from (the loss, a pool's  */
/* winner rule, a convolution's full correlation with the flipped kernel, a dense layer's dz · Wᵀ), and   */
/* what it does with it (the ReLU's gate, its share of dW and db, what it hands down). panel.js calls it.  */
(function () {
  "use strict";
  const NW = window.npnetWalkthrough, data = NW.data, columns = NW.columns, names = data.names, h = NW.panelHelpers;
  const esc = h.esc, ref = h.ref, equals = h.equals, computed = h.computed, value = h.value, cite = h.cite, where = h.where;
  const channelName = h.channelName, sum = h.sum, kernelAt = h.kernelAt, isOn = h.isOn, dz = h.dz, inside = h.inside;
  const grid = h.grid, rowsShown = h.rowsShown, convRows = h.convRows, poolWindow = h.poolWindow, SHOWN = h.SHOWN;
  function flat1(nested) { return NW.flat(nested); }

  /* -- backward: where dL/dA came from ------------------------------------------------------------------ */
  function fromLoss(col, u) {
    const p = flat1(data.loss.probs)[u.c], y = u.c === data.loss["class"] ? 1 : 0;
    return "<p>The loss is L = −log p<sub>" + data.loss["class"] + "</sub>. Its gradient at logit " + u.c + " (" + esc(names[u.c]) +
      ") is p − y, with y = 1 only at the loss's class:</p><p class=\"formula\">dL/dz = p − y = " +
      ref(p, "loss.probs[" + u.c + "]") + " − " + y + " = " + cite(col, "doutput", u) + "</p><p>" +
      (y ? "Negative: raising this logit lowers the loss." : "Positive: raising this logit would raise the loss, in proportion to its probability.") + "</p>";
  }

  function fromPool(col, u, pool) {
    const p = pool.block.pool_size, window = { i: Math.floor(u.i / p), j: Math.floor(u.j / p), c: u.c };
    if (!inside(pool, window.i, window.j)) {
      return "<p>This unit lies in the rows or columns the pool drops (its last, incomplete window): it gets 0.</p>";
    }
    const win = poolWindow(pool, window), mine = u.i - window.i * p === win.di && u.j - window.j * p === win.dj;
    const unit = function (a, b) { return { i: window.i * p + a, j: window.j * p + b, c: u.c }; };
    return "<p><code>" + esc(pool.name) + "</code> took the max of this unit's " + p + "×" + p + " window; its unit " + where(pool, window) + " (row, column, channel)" +
      ", whose gradient is " + cite(pool, "doutput", window) + ". The max passes its gradient to the winner alone: a small change of a " +
      'loser does not change the max at all.</p><div class="grids"><figure>' +
      grid(p, p, function (a, b) { return cite(col, "output", unit(a, b)); }, [win.di, win.dj]) + "<figcaption>A in the window</figcaption></figure>" +
      "<figure>" + grid(p, p, function (a, b) { return cite(col, "doutput", unit(a, b)); }, [win.di, win.dj]) +
      "<figcaption>dL/dA: the winner's</figcaption></figure></div><p>" +
      (mine ? '<span class="on">This unit is the winner</span>: it receives all of it, dL/dA = ' + cite(col, "doutput", u) + "."
        : '<span class="off">This unit lost</span> (to row ' + (window.i * p + win.di) + ", column " + (window.j * p + win.dj) +
          "): it receives 0, and so does everything that fed it, through it.") + "</p>";
  }

  function fromConv(col, u, conv) {
    const block = conv.block, kh = block.kernel_size[0], kw = block.kernel_size[1];
    const top = block.padding[0][0], left = block.padding[1][0], terms = [], grad = col.k === 0 ? "dL/dx" : "dL/dA";
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const i = u.i + top - a, j = u.j + left - b;
        if (!inside(conv, i, j)) { continue; }
        for (let o = 0; o < conv.C; o++) {
          const v = { i: i, j: j, c: o }, g = dz(conv, v), w = kernelAt(conv, a, b, u.c, o);
          terms.push({ a: a, b: b, v: v, g: g, w: w, size: g * w });
        }
      }
    }
    const total = sum(terms.map(function (t) { return t.size; })), zeros = terms.filter(function (t) { return t.g === 0; }).length;
    const rows = terms.map(function (t) {
      return { size: t.size, html: '<tr><td class="label">' + where(conv, t.v) + '</td><td class="label">' + t.a + ", " + t.b + "</td><td>" +
        (isOn(conv, t.v) ? cite(conv, "doutput", t.v) : '<span class="off" title="the unit was off: dz = 0 whatever its dL/dA">off</span> ' +
          computed(0, "dz")) + '</td><td class="op">×</td><td>' + ref(t.w, conv.name + ".kernel[" + t.a + "," + t.b + "," + u.c + "," + t.v.c + "]") +
        '</td><td class="op">=</td><td>' + computed(t.size, "term") + "</td></tr>" };
    });
    const head = '<tr><th class="label" title="the unit of ' + esc(conv.name) + ' (row, column, channel)">from (r, c, ch)</th>' +
      '<th class="label">a, b</th><th>dz</th><th></th><th>K[a,b,' + u.c + ",ch]</th><th></th><th>term</th></tr>";
    return "<p>Every unit of <code>" + esc(conv.name) + "</code> whose " + kh + "×" + kw + " patch covers this one sends back its dz times the " +
      "kernel weight that connected them. The unit at row i − a, column j − b reads this one through K[a, b]: seen from here, the kernel is " +
      "flipped, and the sum is the full correlation of dz with the flipped kernel:</p>" +
      '<p class="formula">' + grad + "[i,j,c] = Σ<sub>a,b,o</sub> dz[i−a, j−b, o] · K[a, b, c, o]</p><p>" + terms.length + " terms (" +
      (terms.length / conv.C) + " positions × " + conv.C + " filters); dz = dL/dA × [A &gt; 0], and " + zeros + " of them are 0, because " +
      "that unit lost its pool window or was off. The largest:</p>" + rowsShown(rows, head, SHOWN, "terms") +
      '<p class="formula">Σ = ' + computed(total, "sum of terms") + " = " + grad + " = " + cite(col, "doutput", u) + "</p>";
  }

  function fromDense(col, u, dense, n) {
    const block = dense.block, terms = block.to_below[n], rest = block.to_below_rest[n];
    const products = terms.map(function (t) { return t[1] * t[2]; }), total = sum(products) + rest;
    const rows = terms.map(function (t, m) {
      return '<tr><td class="label">' + t[0] + "</td><td>" + computed(t[1], "dz") + '</td><td class="op">×</td><td>' +
        ref(t[2], dense.name + ".kernel[" + n + "," + t[0] + "]") + '</td><td class="op">=</td><td>' + computed(products[m], "term") + "</td></tr>";
    }).join("");
    return "<p>This value feeds every one of the " + dense.C + " units of <code>" + esc(dense.name) + "</code>; each sends back its dz times " +
      "the weight between them: dL/da[" + n + "] = Σ<sub>k</sub> dz[k] · W[" + n + ", k] (dx = dz · Wᵀ). The largest terms:</p>" +
      '<table class="terms"><tr><th class="label">unit k</th><th>dz[k]</th><th></th><th>W</th><th></th><th>term</th></tr>' + rows +
      '<tr class="rest"><td class="label" colspan="5">the other ' + (dense.C - terms.length) + " terms</td><td>" +
      computed(rest, "sum of the other terms") + '</td></tr></table><p class="formula">Σ = ' + computed(total, "sum of terms") +
      " = dL/dA = " + cite(col, "doutput", u) + "</p>";
  }

  NW.fromAbove = function (col, u) {
    if (col.k === columns.length - 1) { return fromLoss(col, u); }
    let above = columns[col.k + 1], html = "", n = NW.index(col, u);
    while (above.kind === "pass") {
      html += "<p><code>" + esc(above.name) + "</code> " + (above.type === "Flatten" ? "only reshaped: this value is its entry " + n +
        ", and its gradient comes back reshaped." : "passed it unchanged (off when the net predicts): the gradient comes back unchanged.") + "</p>";
      above = columns[above.k + 1];
    }
    if (above.type === "MaxPool2D") { return html + fromPool(col, u, above); }
    if (above.type === "Conv2D") { return html + fromConv(col, u, above); }
    if (above.type === "Dense") { return html + fromDense(col, u, above, n); }
    return html + "<p>It came back through <code>" + esc(above.name) + "</code> (" + esc(above.type) + "): dL/dA = " + cite(col, "doutput", u) + ".</p>";
  };

  /* -- backward: through this layer, and its share of dW ---------------------------------------------- */
  function gate(col, u) {
    if (!col.relu) { return ""; }
    const on = isOn(col, u);
    return '<p class="formula">through the ReLU: dz = dL/dA × [A &gt; 0] = ' + cite(col, "doutput", u) + " × " + (on ? 1 : 0) + " = " +
      computed(dz(col, u), "dz") + "</p>" + (on ? "" : '<p><span class="off">The unit was off</span>: the ReLU blocks its gradient. ' +
      "It adds nothing to dW or db and hands nothing down.</p>");
  }

  function throughConv(col, u) {
    const block = col.block, kh = block.kernel_size[0], kw = block.kernel_size[1], g = dz(col, u), f = u.c;
    let active = 0;
    for (let i = 0; i < col.H; i++) { for (let j = 0; j < col.W; j++) { if (dz(col, { i: i, j: j, c: f }) !== 0) { active++; } } }
    const db = col.dbias[f];
    let html = gate(col, u) + "<p>Filter " + f + "'s weights are shared by all " + col.H * col.W + " positions, so its gradient is a sum over them: " +
      "dK[:, :, :, " + f + "] = Σ<sub>positions</sub> dz × patch, and db[" + f + "] = Σ dz. Here " + active + " of the " + col.H * col.W +
      " positions have dz ≠ 0 (the others lost their pool window or were off).</p>";
    html += '<p class="formula">this position: dz = ' + computed(g, "dz") + " of db[" + f + "] = " + ref(db, col.name + ".dbias[" + f + "]") +
      (db !== 0 && g !== 0 ? " (" + computed(100 * g / db, "share in percent") + "%)" : "") + "</p>";
    if (g === 0) { return html; }
    const rows = convRows(col, u, function (c, patch, weights, below) {
      const terms = patch.map(function (p) { return (p ? p.v : 0) * g; });
      const html = '<tr><td class="label">' + channelName(below, c) + "</td><td>" + grid(kh, kw, function (a, b) { return computed(terms[a * kw + b], "dz × input"); }) +
        '</td><td class="op">of</td><td>' + grid(kh, kw, function (a, b) {
          const v = col.dkernel[((a * kw + b) * below.C + c) * col.C + f];
          return ref(v, col.name + ".dkernel[" + a + "," + b + "," + c + "," + f + "]"); }) + "</td></tr>";
      return { size: sum(terms.map(Math.abs)), html: html };
    });
    return html + "<p>This position's term, dz × its input patch, beside the whole dK (the sum over all positions), by input channel:</p>" +
      rowsShown(rows, '<tr><th class="label">ch</th><th>dz × patch</th><th></th><th>dK (all positions)</th></tr>', 4, "input channels") +
      "<p>Down to <code>" + esc(block.below) + "</code>: each input in the patch receives dz × K[a, b, c, " + f + "] from this unit, and sums " +
      "such terms from every unit whose patch covers it (click one of its units to see the sum).</p>";
  }

  function throughPool(col, u) {
    const below = NW.column(col.block.below), win = poolWindow(col, u), p = win.p;
    const cell = function (a, b) { return cite(below, "doutput", { i: u.i * p + a, j: u.j * p + b, c: u.c }); };
    return "<p>A pool has no weights. Backward hands dL/dA to the winner of the window in <code>" + esc(below.name) + "</code>, and 0 to the other " +
      (p * p - 1) + ":</p>" + '<div class="grids"><figure>' + grid(p, p, cell, [win.di, win.dj]) + "<figcaption>dL/dA of " + esc(below.name) +
      " in the window</figcaption></figure></div>";
  }

  function throughDense(col, u) {
    const block = col.block, below = NW.column(block.below), g = dz(col, u), terms = block.top_inputs[u.c];
    let html = (col.relu ? gate(col, u) : "<p>No ReLU here: dz = dL/dA.</p>") + '<p class="formula">db[' + u.c + "] = dz = " +
      ref(col.dbias[u.c], col.name + ".dbias[" + u.c + "]") + "</p>";
    html += "<p>This unit owns column " + u.c + " of dW: dW[i, " + u.c + "] = a[i] × dz, for all " + block.kernel_shape[0].toLocaleString("en") +
      " inputs" + (g === 0 ? ", all 0 here." : ". For the inputs of the forward table:") + "</p>";
    if (g !== 0) {
      html += '<table class="terms"><tr><th class="label">input i</th><th>a[i]</th><th></th><th>dz</th><th></th><th>dW[i, ' + u.c + "]</th></tr>" +
        terms.map(function (t) {
          return '<tr><td class="label">' + t[0] + "</td><td>" + ref(t[1], below.name + ".output[" + t[0] + "]") + '</td><td class="op">×</td><td>' +
            computed(g, "dz") + '</td><td class="op">=</td><td>' + equals(t[1] * g, col.name + ".dkernel[" + t[0] + "," + u.c + "]") + "</td></tr>";
        }).join("") + "</table><p>Training subtracts a multiple of dW: where dW is negative the weight grows, where it is positive the " +
        "weight shrinks, and the unit's output moves the way that lowers the loss.</p>";
    }
    return html;
  }

  NW.through = function (col, u) {
    if (col.k === 0) {
      return "<p>dL/dx is where backprop ends: there is no layer below to hand it to. It says how the loss would change if this " +
        "pixel value were nudged: a saliency map draws it.</p>";
    }
    const step = { Conv2D: throughConv, MaxPool2D: throughPool, Dense: throughDense }[col.type];
    return step ? step(col, u) : "<p>" + esc(col.type) + " hands dL/dA on to the layer below through its own backward.</p>";
  };
})();
