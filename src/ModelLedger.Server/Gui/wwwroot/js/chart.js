// A small SVG line chart (no library): points [{x, y}], axes with min/max labels, redrawn in place as points arrive.
const NS = 'http://www.w3.org/2000/svg';
const svgEl = (tag, attrs) => {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};

export function lineChart(label) {
  const width = 640, height = 240, pad = { l: 48, r: 12, t: 12, b: 28 };
  const svg = svgEl('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label });
  const points = [];
  function draw() {
    svg.replaceChildren();
    svg.append(svgEl('line', { class: 'axis', x1: pad.l, y1: height - pad.b, x2: width - pad.r, y2: height - pad.b }),
      svgEl('line', { class: 'axis', x1: pad.l, y1: pad.t, x2: pad.l, y2: height - pad.b }));
    if (!points.length) return;
    const xs = points.map(p => p.x), ys = points.map(p => p.y);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
    const sx = x => pad.l + (x1 === x0 ? 0.5 : (x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
    const sy = y => height - pad.b - (y - y0) / (y1 - y0) * (height - pad.t - pad.b);
    svg.append(svgEl('polyline', { class: 'line', points: points.map(p => `${sx(p.x)},${sy(p.y)}`).join(' ') }));
    for (const p of points) svg.append(svgEl('circle', { cx: sx(p.x), cy: sy(p.y), r: 2.5, fill: '#2f5bea' }));
    const text = (x, y, s, anchor = 'end') => {
      const t = svgEl('text', { x, y, 'text-anchor': anchor });
      t.textContent = s;
      svg.append(t);
    };
    text(pad.l - 6, pad.t + 8, y1.toFixed(3));
    text(pad.l - 6, height - pad.b, y0.toFixed(3));
    text(pad.l, height - 8, `step ${x0}`, 'start');
    text(width - pad.r, height - 8, `step ${x1}`);
  }
  draw();
  return {
    node: svg,
    add(x, y) { points.push({ x, y }); draw(); },
    clear() { points.length = 0; draw(); },
    get count() { return points.length; },
  };
}
