/* npnet walkthrough: draws every column of the net from the page's JSON block, and lets a unit be picked */
/* with the mouse or the keyboard (panel.js writes the picked unit's panel). Plain JavaScript, nothing fetched. */
(function () {
  "use strict";
  const NW = window.npnetWalkthrough = {};
  const data = NW.data = JSON.parse(document.getElementById("npnet-walkthrough").textContent);
  const PALETTE = data.palettes;

  function flat(nested) { return Array.isArray(nested) ? nested.flat(Infinity) : [nested]; }
  NW.flat = flat;

  /* -- the columns: 0 is the input, then one per layer; a unit is {c, i, j} (a 1-D layer: c alone) ---- */
  const last = data.layers.length;
  const columns = NW.columns = [data.input].concat(data.layers).map(function (block, k) {
    const col = { k: k, block: block, name: block.name, type: block.type, out: flat(block.output),
                  dout: flat(block.doutput) };
    if (block.shape.length === 3) {
      col.H = block.shape[0]; col.W = block.shape[1]; col.C = block.shape[2]; col.kind = "maps";
    } else {
      col.H = 1; col.W = 1; col.C = block.shape[0];
      col.kind = k === last ? "logits" : block.type === "Flatten" || block.type === "Dropout" ? "pass" : "units";
    }
    if (block.kernel) { col.kernel = flat(block.kernel); }
    if (block.dkernel) { col.dkernel = flat(block.dkernel); }
    if (block.bias) { col.bias = flat(block.bias); col.dbias = flat(block.dbias); }
    if (block.winners) { col.winners = flat(block.winners); }
    col.relu = block.activation === "relu";
    col.forward = scaleOf(col.out, false);
    col.backward = scaleOf(col.dout, true);
    return col;
  });
  const byName = {};
  columns.forEach(function (col) { byName[col.name] = col; });
  NW.column = function (name) { return byName[name]; };
  NW.index = function (col, u) { return (u.i * col.W + u.j) * col.C + u.c; };
  NW.unitAt = function (col, n) {       /* a flat index (row, column, channel order) -> a unit */
    return { i: Math.floor(n / (col.W * col.C)), j: Math.floor(n / col.C) % col.W, c: n % col.C };
  };

  function scaleOf(values, signed) {
    let lo = Infinity, hi = -Infinity;
    for (const v of values) { if (v < lo) { lo = v; } if (v > hi) { hi = v; } }
    if (signed || lo < 0) {
      const m = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
      return { lo: -m, hi: m, signed: true };
    }
    return { lo: 0, hi: hi || 1, signed: false };
  }

  /* the palette entry of a value on a column's forward (grey) or backward (blue - grey - orange) scale */
  function colour(col, dir, v) {
    const s = dir === "forward" ? col.forward : col.backward;
    const level = Math.max(0, Math.min(255, Math.round(255 * (v - s.lo) / (s.hi - s.lo))));
    return PALETTE[dir][level];
  }
  NW.colour = colour;

  /* -- geometry: channels as small multiples, dense units as a grid of cells, logits as bars ----------- */
  function geometry(col) {
    if (col.kind === "maps") {
      const target = col.C <= 3 ? 96 : col.C <= 32 ? 60 : 30;
      const s = Math.max(1, Math.round(target / Math.max(col.H, col.W)));
      const per = col.C <= 3 ? 1 : col.C <= 32 ? 4 : 8, gap = 2;
      const rows = Math.ceil(col.C / per);
      return { s: s, per: per, gap: gap, cw: col.W * s, ch: col.H * s,
               width: per * (col.W * s + gap) - gap, height: rows * (col.H * s + gap) - gap };
    }
    if (col.kind === "units") {
      const per = col.C >= 256 ? 8 : col.C >= 128 ? 4 : 2, cell = 10, gap = 1;
      return { per: per, cell: cell, gap: gap, width: per * (cell + gap) - gap,
               height: Math.ceil(col.C / per) * (cell + gap) - gap };
    }
    return { row: 11, width: 130, height: col.C * 11 };       /* logits */
  }
  NW.geometry = geometry;

  /* the rectangle (x, y, w, h) of the units {c, i..i+h-1, j..j+w-1} on a column's canvas */
  function rect(col, g, c, i, j, h, w) {
    if (col.kind === "maps") {
      const x0 = (c % g.per) * (g.cw + g.gap), y0 = Math.floor(c / g.per) * (g.ch + g.gap);
      return [x0 + j * g.s, y0 + i * g.s, w * g.s, h * g.s];
    }
    if (col.kind === "units") {
      return [(c % g.per) * (g.cell + g.gap), Math.floor(c / g.per) * (g.cell + g.gap), g.cell, g.cell];
    }
    return [0, c * g.row, g.width, g.row];
  }

  function hit(col, g, x, y) {
    if (col.kind === "maps") {
      const cx = Math.floor(x / (g.cw + g.gap)), cy = Math.floor(y / (g.ch + g.gap));
      const dx = x - cx * (g.cw + g.gap), dy = y - cy * (g.ch + g.gap);
      const c = cy * g.per + cx;
      if (dx >= g.cw || dy >= g.ch || cx >= g.per || c >= col.C || x < 0 || y < 0) { return null; }
      return { c: c, i: Math.floor(dy / g.s), j: Math.floor(dx / g.s) };
    }
    if (col.kind === "units") {
      const cx = Math.floor(x / (g.cell + g.gap)), cy = Math.floor(y / (g.cell + g.gap));
      const c = cy * g.per + cx;
      return cx < g.per && c < col.C && x >= 0 && y >= 0 ? { c: c, i: 0, j: 0 } : null;
    }
    const c = Math.floor(y / g.row);
    return c >= 0 && c < col.C ? { c: c, i: 0, j: 0 } : null;
  }

  /* -- drawing ------------------------------------------------------------------------------------- */
  const BACKGROUND = [255, 255, 255];

  function basePicture(canvas, col, dir, g) {
    const context = canvas.getContext("2d");
    const values = dir === "forward" ? col.out : col.dout;
    if (col.kind === "logits") { return null; }
    const picture = context.createImageData(g.width, g.height);
    const px = picture.data;
    for (let p = 0; p < px.length; p += 4) { px[p] = BACKGROUND[0]; px[p + 1] = BACKGROUND[1]; px[p + 2] = BACKGROUND[2]; px[p + 3] = 255; }
    for (let n = 0; n < values.length; n++) {
      const u = NW.unitAt(col, n);
      const r = rect(col, g, u.c, u.i, u.j, 1, 1), rgb = colour(col, dir, values[n]);
      for (let y = r[1]; y < r[1] + r[3]; y++) {
        for (let x = r[0]; x < r[0] + r[2]; x++) {
          const p = 4 * (y * g.width + x);
          px[p] = rgb[0]; px[p + 1] = rgb[1]; px[p + 2] = rgb[2];
        }
      }
    }
    return picture;
  }

  function drawBars(context, col, dir, g) {
    const values = dir === "forward" ? col.out : col.dout, s = dir === "forward" ? col.forward : col.backward;
    const m = Math.max(Math.abs(s.lo), Math.abs(s.hi)), mid = g.width / 2;
    context.fillStyle = "#fff"; context.fillRect(0, 0, g.width, g.height);
    for (let c = 0; c < col.C; c++) {
      const length = values[c] / m * (mid - 2), rgb = colour(col, dir, values[c]);
      if (c === data.loss["class"]) { context.fillStyle = "#eef8f1"; context.fillRect(0, c * g.row, g.width, g.row); }
      context.fillStyle = dir === "forward" ? "#5d6878" : "rgb(" + rgb.join(",") + ")";
      context.fillRect(Math.min(mid, mid + length), c * g.row + 2, Math.abs(length), g.row - 4);
      if (dir === "backward") {
        context.strokeStyle = "#444"; context.lineWidth = 0.5;
        context.strokeRect(Math.min(mid, mid + length), c * g.row + 2, Math.abs(length), g.row - 4);
      }
    }
    context.fillStyle = "#222"; context.fillRect(mid - 0.5, 0, 1, g.height);
  }

  function outline(context, r, strong) {
    context.lineWidth = strong ? 3 : 2;
    context.strokeStyle = "#000";
    context.strokeRect(r[0] - 1.5, r[1] - 1.5, r[2] + 3, r[3] + 3);
    context.lineWidth = strong ? 1.5 : 1;
    context.strokeStyle = strong ? "#ffd400" : "#ffe97a";
    context.strokeRect(r[0] - 1.5, r[1] - 1.5, r[2] + 3, r[3] + 3);
  }

  NW.selection = null;

  function draw(canvas) {
    const col = columns[+canvas.dataset.col], dir = canvas.dataset.dir, g = canvas._geometry;
    const context = canvas.getContext("2d");
    if (canvas._base) { context.putImageData(canvas._base, 0, 0); } else { drawBars(context, col, dir, g); }
    const sel = NW.selection;
    if (sel) {
      NW.related(sel).forEach(function (region) {
        if (region.k === col.k) { outline(context, rect(col, g, region.c, region.i, region.j, region.h, region.w), false); }
      });
      if (sel.k === col.k) { outline(context, rect(col, g, sel.c, sel.i, sel.j, 1, 1), true); }
    }
    if (canvas._cursor && document.activeElement === canvas) {
      const r = rect(col, g, canvas._cursor.c, canvas._cursor.i, canvas._cursor.j, 1, 1);
      context.setLineDash([3, 2]); context.lineWidth = 2; context.strokeStyle = "#1f5fa8";
      context.strokeRect(r[0] - 2, r[1] - 2, r[2] + 4, r[3] + 4); context.setLineDash([]);
    }
  }

  const canvases = Array.prototype.slice.call(document.querySelectorAll("canvas.units"));
  NW.redraw = function () { canvases.forEach(draw); };

  /* the units a selection reads: a conv unit's patch, a pool unit's window, a dense unit's top inputs */
  NW.related = function (sel) {
    const col = columns[sel.k], block = col.block, regions = [];
    if (sel.k === 0) { return regions; }
    let below = NW.column(block.below);
    if (col.type === "Conv2D") {
      const kh = block.kernel_size[0], kw = block.kernel_size[1], top = block.padding[0][0], left = block.padding[1][0];
      for (let c = 0; c < below.C; c++) { regions.push({ k: below.k, c: c, i: sel.i - top, j: sel.j - left, h: kh, w: kw }); }
    } else if (col.type === "MaxPool2D") {
      const p = block.pool_size;
      regions.push({ k: below.k, c: sel.c, i: sel.i * p, j: sel.j * p, h: p, w: p });
    } else if (col.type === "Dense") {
      while (below.kind === "pass" && below.k > 0) { below = NW.column(below.block.below); }
      block.top_inputs[sel.c].forEach(function (term) {
        const u = NW.unitAt(below, term[0]);
        regions.push({ k: below.k, c: u.c, i: u.i, j: u.j, h: 1, w: 1 });
      });
    }
    return regions;
  };

  /* -- the colour-scale legends under each picture ---------------------------------------------------- */
  function fmt(v) {
    if (v === 0) { return "0"; }
    const a = Math.abs(v);
    const text = a >= 1e-3 && a < 1e5 ? String(Number(v.toPrecision(3))) : v.toExponential(1);
    return text.replace("-", "\u2212");
  }
  NW.fmtShort = fmt;

  document.querySelectorAll(".scale").forEach(function (box) {
    const col = columns[+box.dataset.col], dir = box.dataset.dir, s = dir === "forward" ? col.forward : col.backward;
    const ramp = document.createElement("canvas");
    ramp.width = 90; ramp.height = 9;
    const context = ramp.getContext("2d");
    for (let x = 0; x < 90; x++) {
      const rgb = PALETTE[dir][Math.round(255 * x / 89)];
      context.fillStyle = "rgb(" + rgb.join(",") + ")"; context.fillRect(x, 0, 1, 9);
    }
    ramp.setAttribute("aria-hidden", "true");
    const low = document.createElement("span"), high = document.createElement("span");
    low.textContent = fmt(s.lo); high.textContent = (s.signed && s.hi > 0 ? "+" : "") + fmt(s.hi);
    low.dataset.value = s.lo; high.dataset.value = s.hi;
    box.append(low, ramp, high);
    if (s.signed) { box.setAttribute("title", "0 is the middle of the scale"); }
  });

  /* -- picking a unit: mouse, keys ----------------------------------------------------------------------- */
  const status = document.getElementById("status");

  function describe(col, u) {
    const where = col.kind === "maps" ? "channel " + u.c + ", row " + u.i + ", column " + u.j : "unit " + u.c;
    const n = NW.index(col, u);
    return col.name + ", " + where + ": A = " + fmt(col.out[n]) + ", dL/dA = " + fmt(col.dout[n]);
  }

  NW.select = function (k, u, opener) {
    NW.selection = { k: k, c: u.c, i: u.i, j: u.j };
    NW.opener = opener || NW.opener;
    document.querySelectorAll("ol.probs li").forEach(function (li, c) {
      li.classList.toggle("selected", k === last && c === u.c);
    });
    NW.redraw();
    if (NW.renderPanel) { NW.renderPanel(NW.selection); }
    status.textContent = describe(columns[k], u);
  };

  canvases.forEach(function (canvas) {
    const col = columns[+canvas.dataset.col], g = canvas._geometry = geometry(col);
    canvas.width = g.width; canvas.height = g.height;
    canvas._base = basePicture(canvas, col, canvas.dataset.dir, g);
    canvas.addEventListener("click", function (event) {
      const box = canvas.getBoundingClientRect();
      const u = hit(col, g, (event.clientX - box.left) * g.width / box.width, (event.clientY - box.top) * g.height / box.height);
      if (u) { canvas._cursor = u; NW.select(col.k, u, canvas); }
    });
    canvas.addEventListener("mousemove", function (event) {
      const box = canvas.getBoundingClientRect();
      const u = hit(col, g, (event.clientX - box.left) * g.width / box.width, (event.clientY - box.top) * g.height / box.height);
      canvas.title = u ? describe(col, u) + " (click for its computation)" : "";
    });
    canvas.addEventListener("focus", function () {
      const sel = NW.selection;
      if (!canvas._cursor) { canvas._cursor = sel && sel.k === col.k ? { c: sel.c, i: sel.i, j: sel.j } : { c: 0, i: 0, j: 0 }; }
      status.textContent = describe(col, canvas._cursor) + ". Arrow keys move, Page Up and Page Down change channel, Enter opens.";
      draw(canvas);
    });
    canvas.addEventListener("blur", function () { draw(canvas); });
    canvas.addEventListener("keydown", function (event) {
      const u = Object.assign({}, canvas._cursor || { c: 0, i: 0, j: 0 });
      const maps = col.kind === "maps", step = col.kind === "units" ? g.per : 1;
      const moves = {
        ArrowLeft: maps ? ["j", -1] : ["c", -1], ArrowRight: maps ? ["j", 1] : ["c", 1],
        ArrowUp: maps ? ["i", -1] : ["c", -step], ArrowDown: maps ? ["i", 1] : ["c", step],
        PageUp: ["c", -1], PageDown: ["c", 1], Home: ["c", -Infinity], End: ["c", Infinity]
      };
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault(); NW.select(col.k, u, canvas); return;
      }
      const move = moves[event.key];
      if (!move) { return; }
      event.preventDefault();
      const limit = { c: col.C, i: col.H, j: col.W }[move[0]];
      u[move[0]] = Math.max(0, Math.min(limit - 1, u[move[0]] + move[1]));
      canvas._cursor = u;
      status.textContent = describe(col, u);
      draw(canvas);
    });
  });

  document.querySelectorAll("ol.probs button").forEach(function (button) {
    button.addEventListener("click", function () { NW.select(last, { c: +button.dataset.unit, i: 0, j: 0 }, button); });
  });

  NW.redraw();
})();
