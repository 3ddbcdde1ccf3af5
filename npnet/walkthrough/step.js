/* npnet walkthrough: the training step: the first convolution's kernels before, dW, the update and after, */
/* drawn from the page's JSON block, and the toggle that takes (and undoes) the step. */
(function () {
  "use strict";
  const NW = window.npnetWalkthrough, data = NW.data, flat = NW.flat, fmt = NW.fmtShort;
  const status = document.getElementById("status");

  /* -- the training step: kernels as pictures, before / dW / update / after ---------------------------- */
  const step = data.step;
  function kernelPicture(canvas, nested, scaleFrom) {
    const values = flat(nested), scale = flat(scaleFrom);
    const shape = [nested.length, nested[0].length, nested[0][0].length, nested[0][0][0].length];
    const kh = shape[0], kw = shape[1], C = shape[2], F = shape[3], s = 10, per = 8, gap = 3;
    let m = 0;
    for (const v of scale) { m = Math.max(m, Math.abs(v)); }
    m = m || 1;
    canvas.width = per * (kw * s + gap) - gap; canvas.height = Math.ceil(F / per) * (kh * s + gap) - gap;
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; context.fillRect(0, 0, canvas.width, canvas.height);
    for (let f = 0; f < F; f++) {
      const x0 = (f % per) * (kw * s + gap), y0 = Math.floor(f / per) * (kh * s + gap);
      for (let a = 0; a < kh; a++) {
        for (let b = 0; b < kw; b++) {
          const rgb = [0, 1, 2].map(function (c) {
            const v = values[((a * kw + b) * C + (C === 3 ? c : 0)) * F + f];
            return Math.max(0, Math.min(255, Math.round(127.5 + 127.5 * v / m)));
          });
          context.fillStyle = "rgb(" + rgb.join(",") + ")";
          context.fillRect(x0 + b * s, y0 + a * s, s, s);
        }
      }
    }
  }
  const pictures = { before: step.kernel_before, dkernel: step.dkernel, update: step.update, after: step.kernel_after };
  const scales = { before: step.kernel_before, dkernel: step.dkernel, update: step.update, after: step.kernel_before };
  document.querySelectorAll("#step-kernels canvas").forEach(function (canvas) {
    kernelPicture(canvas, pictures[canvas.dataset.what], scales[canvas.dataset.what]);
  });
  const toggle = document.getElementById("step-toggle"), body = document.getElementById("step-body");
  toggle.addEventListener("click", function () {
    const taken = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", String(taken));
    toggle.textContent = taken ? "Undo the step" : "Take the step";
    body.dataset.state = taken ? "after" : "before";
    status.textContent = taken ? "Step taken: the loss on this image went from " + fmt(step.loss_before) + " to " +
      fmt(step.loss_after) : "Step undone";
  });
})();
