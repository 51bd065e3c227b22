/** One scenario's median latency at each catalog size. */
export interface ScaleSeries {
  scenario: string;
  points: { images: number; p50: number }[];
}

const WIDTH = 720;
const HEIGHT = 420;
const MARGIN = { left: 70, right: 220, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf'];

/**
 * An SVG line chart, both axes logarithmic: median latency (ms) against the number of images. On
 * such axes a scenario that grows linearly with the catalog climbs one decade per decade; a flat
 * line does not grow.
 */
export function scaleSvg(series: ScaleSeries[], title: string): string {
  const all = series.flatMap((s) => s.points);
  const sizes = [...new Set(all.map((p) => p.images))].sort((a, b) => a - b);
  const [minX, maxX] = [Math.min(...sizes), Math.max(...sizes)];
  const minY = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...all.map((p) => p.p50)))));
  const maxY = 10 ** Math.ceil(Math.log10(Math.max(...all.map((p) => p.p50), minY * 10)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + (maxX === minX ? plotW / 2 : ((Math.log10(v) - Math.log10(minX)) / (Math.log10(maxX) - Math.log10(minX))) * plotW);
  const y = (v: number) => MARGIN.top + plotH - ((Math.log10(Math.max(v, minY)) - Math.log10(minY)) / (Math.log10(maxY) - Math.log10(minY))) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="14">${escape(title)}</text>`,
  ];
  for (let decade = minY; decade <= maxY; decade *= 10) {
    parts.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(decade)}" y2="${y(decade)}" stroke="#ddd"/>`);
    parts.push(`<text x="${MARGIN.left - 8}" y="${y(decade) + 4}" text-anchor="end">${decade >= 1 ? decade : decade.toFixed(1)} ms</text>`);
  }
  for (const size of sizes) {
    parts.push(`<line x1="${x(size)}" x2="${x(size)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`);
    parts.push(`<text x="${x(size)}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${size.toLocaleString('en-US')}</text>`);
  }
  parts.push(`<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 10}" text-anchor="middle">images in the catalog (log scale)</text>`);
  parts.push(`<text transform="translate(16 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">p50 latency (log scale)</text>`);
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const points = [...s.points].sort((a, b) => a.images - b.images);
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" points="${points.map((p) => `${x(p.images).toFixed(1)},${y(p.p50).toFixed(1)}`).join(' ')}"/>`);
    for (const p of points) parts.push(`<circle cx="${x(p.images).toFixed(1)}" cy="${y(p.p50).toFixed(1)}" r="3" fill="${color}"/>`);
    const legendY = MARGIN.top + 10 + i * 20;
    parts.push(`<line x1="${WIDTH - MARGIN.right + 15}" x2="${WIDTH - MARGIN.right + 35}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${WIDTH - MARGIN.right + 40}" y="${legendY + 4}">${escape(s.scenario)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
