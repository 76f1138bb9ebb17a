// Browser code: one card per worker slot, built once and updated on every poll.
import type { WorkerStats } from '../../protocol/stats.ts';
import { lineChart, push, slide, type LineChart, type Sample } from './charts.ts';
import { el } from './dom.ts';

/** A room on one worker's card: its peers on that worker, and how many workers it spans. */
export type RoomRow = { roomId: string; peerCount: number | undefined; spans: number | undefined };

const COLORS = { cpu: '#2563eb', cpuAvg: '#f59e0b', rooms: '#059669', peers: '#7c3aed' };

function percent(fraction: number): number {
	return Math.round(fraction * 1000) / 10;
}

function duration(ms: number): string {
	const s = Math.floor(ms / 1000);
	if (s < 60) return `${s}s`;
	const m = Math.floor(s / 60);
	if (m < 60) return `${m}m ${s % 60}s`;
	const h = Math.floor(m / 60);
	return h < 48 ? `${h}h ${m % 60}m` : `${Math.floor(h / 24)}d ${h % 24}h`;
}

function mebibytes(kib: number): string {
	return `${(kib / 1024).toFixed(1)} MiB`;
}

export class WorkerCard {
	readonly element: HTMLElement;
	readonly #status = el('span', 'badge');
	readonly #draining = el('span', 'badge warn', 'draining');
	readonly #facts = new Map<string, HTMLElement>();
	readonly #roomsTitle = el('h3');
	readonly #roomList = el('ul', 'rooms');
	readonly #cpuChart: LineChart;
	readonly #loadChart: LineChart;
	readonly #history = { cpu: [] as Sample[], cpuAvg: [] as Sample[], rooms: [] as Sample[], peers: [] as Sample[] };

	constructor(workerId: number) {
		this.element = el('article', 'card worker');
		this.element.dataset.workerId = String(workerId);

		const header = el('header');
		header.append(el('h2', undefined, `Worker ${workerId}`), this.#status, this.#draining);

		const facts = el('dl', 'facts');
		for (const name of ['pid', 'ports', 'pipes', 'restarts', 'uptime', 'cpu', 'rss']) {
			const value = el('dd');
			value.dataset.fact = name;
			this.#facts.set(name, value);
			facts.append(el('dt', undefined, name === 'rss' ? 'max RSS' : name), value);
		}

		const cpuCanvas = el('canvas');
		const loadCanvas = el('canvas');
		cpuCanvas.setAttribute('aria-label', `Worker ${workerId} CPU`);
		loadCanvas.setAttribute('aria-label', `Worker ${workerId} rooms and peers`);
		const charts = el('div', 'charts');
		for (const [title, canvas] of [
			['CPU (% of one core)', cpuCanvas],
			['Rooms and peers', loadCanvas],
		] as const) {
			const figure = el('figure');
			const box = el('div', 'chart');
			box.append(canvas);
			figure.append(el('figcaption', undefined, title), box);
			charts.append(figure);
		}

		const rooms = el('section', 'distribution');
		rooms.append(this.#roomsTitle, this.#roomList);

		this.element.append(header, facts, charts, rooms);

		const h = this.#history;
		this.#cpuChart = lineChart(
			cpuCanvas,
			[
				{ label: 'last sample', color: COLORS.cpu, data: h.cpu, fill: true },
				{ label: 'average', color: COLORS.cpuAvg, data: h.cpuAvg, dashed: true },
			],
			{ percent: true, suggestedMax: 10 },
		);
		this.#loadChart = lineChart(
			loadCanvas,
			[
				{ label: 'rooms', color: COLORS.rooms, data: h.rooms },
				{ label: 'peers', color: COLORS.peers, data: h.peers, dashed: true },
			],
			{ suggestedMax: 4, steps: true },
		);
	}

	update(now: number, stats: WorkerStats, rooms: RoomRow[]): void {
		const alive = !stats.closed;
		this.#status.textContent = alive ? 'alive' : 'closed';
		this.#status.className = `badge ${alive ? 'ok' : 'bad'}`;
		this.#draining.hidden = !stats.draining;
		this.element.classList.toggle('dead', !alive);

		this.#fact('pid', stats.pid === null ? '—' : String(stats.pid));
		const ports = stats.ports;
		this.#fact(
			'ports',
			`${stats.portRange.min}–${stats.portRange.max}${ports ? ` (${ports.inUse}/${ports.capacity} in use${ports.exhausted ? ', exhausted' : ''})` : ''}`,
			ports?.exhausted ? 'bad' : ports && ports.inUse >= 0.9 * ports.capacity ? 'warn' : '',
		);
		this.#fact('pipes', `${stats.pipeTransports} transports, ${stats.pipedProducers} piped producers`);
		this.#fact('restarts', String(stats.restarts), stats.restarts > 0 ? 'warn' : '');
		this.#fact('uptime', alive ? duration(stats.uptimeMs) : '—');
		this.#fact('cpu', `${percent(stats.cpuUsage)}% (avg ${percent(stats.cpuUsageAvg ?? 0)}%)`);
		this.#fact('rss', stats.memory?.ru_maxrss ? mebibytes(stats.memory.ru_maxrss) : '—');

		const h = this.#history;
		push(h.cpu, { x: now, y: percent(stats.cpuUsage) });
		push(h.cpuAvg, { x: now, y: percent(stats.cpuUsageAvg ?? 0) });
		push(h.rooms, { x: now, y: stats.roomCount });
		push(h.peers, { x: now, y: stats.peerCount });
		slide(this.#cpuChart, now);
		slide(this.#loadChart, now);

		this.#roomsTitle.textContent = `Rooms (${rooms.length})`;
		this.#roomList.replaceChildren(
			...(rooms.length === 0
				? [el('li', 'empty', 'no rooms')]
				: rooms.map((room) => {
						const item = el('li', 'room');
						item.dataset.roomId = room.roomId;
						const peers = room.peerCount === undefined ? '' : `${room.peerCount} peer${room.peerCount === 1 ? '' : 's'}`;
						item.append(el('span', 'room-id', room.roomId), el('span', 'peers', peers));
						if (room.spans !== undefined && room.spans > 1) {
							item.dataset.spans = String(room.spans);
							item.append(el('span', 'spans', `spans ${room.spans} workers`));
						}
						return item;
					})),
		);
	}

	#fact(name: string, text: string, className = ''): void {
		const node = this.#facts.get(name);
		if (!node) return;
		node.textContent = text;
		node.className = className;
	}
}
