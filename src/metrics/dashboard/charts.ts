// Browser code (bundled by esbuild into /dashboard/app.js): Chart.js line charts over a sliding window.
import { Chart, Filler, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

// Only the pieces a line chart needs, so the bundle stays small.
Chart.register(LineController, LineElement, PointElement, LinearScale, Legend, Tooltip, Filler);

/** How much history the page keeps and shows. */
export const WINDOW_MS = 5 * 60_000;

export type Sample = { x: number; y: number };

/** `dashed` lets a line drawn on top show the one it hides when the values coincide. */
export type Series = { label: string; color: string; data: Sample[]; fill?: boolean; dashed?: boolean };

export type ChartOptions = {
	percent?: boolean;
	suggestedMax: number;
	/** Whole-number counts: hold each value until the next poll instead of drawing slopes. */
	steps?: boolean;
};

export type LineChart = Chart<'line', Sample[]>;

/** Until this much history exists, the x axis spans this much (lines grow from the right). */
const MIN_SPAN_MS = 30_000;
const TICK_STEPS_MS = [5_000, 10_000, 15_000, 30_000, 60_000];

function clock(ms: number, withSeconds: boolean): string {
	// 24-hour and no AM/PM: the labels must stay narrow enough for a small chart.
	return new Date(ms).toLocaleTimeString([], {
		hour: '2-digit',
		minute: '2-digit',
		hourCycle: 'h23',
		...(withSeconds ? { second: '2-digit' } : {}),
	});
}

// The x range: the whole window once it is full, only what the page has seen before that,
// so a freshly opened page shows lines rather than a dot at the right edge.
function xRange(now: number, oldest: number | undefined): { min: number; max: number; stepSize: number } {
	const min = Math.min(now - MIN_SPAN_MS, Math.max(now - WINDOW_MS, oldest ?? now));
	const span = now - min;
	const stepSize = TICK_STEPS_MS.find((step) => span / step <= 6) ?? 60_000;
	return { min, max: now, stepSize };
}

/** A line chart whose x axis is wall-clock time; `percent` formats the y axis as %. */
export function lineChart(canvas: HTMLCanvasElement, series: Series[], y: ChartOptions): LineChart {
	const range = xRange(Date.now(), undefined);
	return new Chart<'line', Sample[]>(canvas, {
		type: 'line',
		data: {
			datasets: series.map((s) => ({
				label: s.label,
				data: s.data,
				borderColor: s.color,
				backgroundColor: `${s.color}22`,
				fill: s.fill ?? false,
				borderWidth: 2,
				borderDash: s.dashed ? [6, 4] : [],
				// Lowest order is drawn last: dashed lines go on top so both stay visible.
				order: s.dashed ? 0 : 1,
				pointRadius: 0,
				stepped: y.steps ? ('after' as const) : false,
				// Monotone: smooth without overshooting below zero or above the real peak.
				cubicInterpolationMode: 'monotone' as const,
			})),
		},
		options: {
			// Redrawn every poll: animating each update would only blur the lines.
			animation: false,
			parsing: false,
			normalized: true,
			maintainAspectRatio: false,
			interaction: { mode: 'index', intersect: false },
			scales: {
				x: {
					type: 'linear',
					min: range.min,
					max: range.max,
					ticks: {
						stepSize: range.stepSize,
						// Seconds only matter while ticks are less than a minute apart.
						callback: (value, _index, ticks) =>
							clock(Number(value), ticks.length > 1 && ticks[1]!.value - ticks[0]!.value < 60_000),
						maxRotation: 0,
					},
					grid: { color: '#eef0f3' },
				},
				y: {
					beginAtZero: true,
					suggestedMax: y.suggestedMax,
					ticks: y.percent ? { callback: (value) => `${value}%` } : { precision: 0 },
					grid: { color: '#eef0f3' },
				},
			},
			plugins: {
				// Listed as declared, not in drawing order.
				legend: {
					position: 'bottom',
					labels: { boxWidth: 12, boxHeight: 2, sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0) },
				},
				tooltip: {
					callbacks: {
						title: (items) => (items[0] ? new Date(items[0].parsed.x ?? 0).toLocaleTimeString() : ''),
						label: (item) => `${item.dataset.label}: ${item.parsed.y}${y.percent ? '%' : ''}`,
					},
				},
			},
		},
	});
}

/** Adds a sample, drops those older than the window (in place: the chart holds the same array). */
export function push(data: Sample[], sample: Sample): void {
	data.push(sample);
	const cutoff = sample.x - WINDOW_MS;
	let stale = 0;
	while (stale < data.length && data[stale]!.x < cutoff) stale += 1;
	if (stale > 0) data.splice(0, stale);
}

/** Moves the x window to end at `now` and redraws. */
export function slide(chart: LineChart, now: number): void {
	const x = chart.options.scales?.x;
	if (x?.type === 'linear') {
		const oldest = Math.min(...chart.data.datasets.map((d) => d.data[0]?.x ?? now));
		const range = xRange(now, oldest);
		x.min = range.min;
		x.max = range.max;
		if (x.ticks) x.ticks.stepSize = range.stepSize;
	}
	chart.update('none');
}

export { Chart };
