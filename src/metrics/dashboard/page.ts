// Browser entry of the dashboard (bundled by esbuild into /dashboard/app.js):
// polls /stats and /rooms and keeps a few minutes of history per worker.
// Type imports only from src/protocol: esbuild drops them, so no zod (and no server code) reaches the bundle.
import type { ClusterView } from '../../protocol/cluster.ts';
import type { Rooms, Stats } from '../../protocol/stats.ts';
import { Chart } from './charts.ts';
import { ClusterTable } from './clusterTable.ts';
import { WorkerCard, type RoomRow } from './workerCard.ts';

const POLL_MS = 2000;
const FETCH_TIMEOUT_MS = 5000;

declare global {
	interface Window {
		/** Chart.js, for debugging from the console (and for the e2e test). */
		Chart?: typeof Chart;
	}
}
window.Chart = Chart;

class HttpError extends Error {
	constructor(readonly status: number) {
		super(`HTTP ${status}`);
	}
}

// The admin token travels in the page URL (?token=) and goes out as a bearer header.
const token = new URLSearchParams(location.search).get('token');
const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};

async function getJson<T>(path: string): Promise<T> {
	// Relative: /dashboard polls /stats and /rooms, also behind a path-prefix proxy.
	const response = await fetch(path, { headers, cache: 'no-store', signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
	if (!response.ok) throw new HttpError(response.status);
	return (await response.json()) as T;
}

function byId<T extends HTMLElement>(id: string): T {
	const node = document.getElementById(id);
	if (!node) throw new Error(`dashboard markup lacks #${id}`);
	return node as T;
}

const view = {
	status: byId('status'),
	workers: byId('workers'),
	summary: {
		workers: byId('sum-workers'),
		rooms: byId('sum-rooms'),
		peers: byId('sum-peers'),
		state: byId('sum-state'),
	},
	version: byId('version'),
};

const cards = new Map<number, WorkerCard>();
const cluster = new ClusterTable();
view.workers.before(cluster.element);

function card(workerId: number): WorkerCard {
	let existing = cards.get(workerId);
	if (!existing) {
		existing = new WorkerCard(workerId);
		cards.set(workerId, existing);
		// Keep cards in worker order whatever order they first appear in.
		const next = [...cards.keys()].sort((a, b) => a - b).find((id) => id > workerId);
		view.workers.insertBefore(existing.element, next === undefined ? null : (cards.get(next)?.element ?? null));
	}
	return existing;
}

function roomsByWorker(stats: Stats, rooms: Rooms | undefined): Map<number, RoomRow[]> {
	const result = new Map<number, RoomRow[]>();
	if (rooms) {
		for (const room of rooms.rooms) {
			// A room spanning workers appears on each worker's card, with the peers placed there.
			const parts = room.workers ?? [{ workerId: room.workerId, peerCount: room.peerCount }];
			for (const part of parts) {
				const list = result.get(part.workerId) ?? [];
				list.push({ roomId: room.roomId, peerCount: part.peerCount, spans: parts.length });
				result.set(part.workerId, list);
			}
		}
	} else {
		// /rooms failed: /stats still says where each room lives, just not how full.
		for (const [workerId, ids] of Object.entries(stats.distribution)) {
			result.set(Number(workerId), ids.map((roomId) => ({ roomId, peerCount: undefined, spans: undefined })));
		}
	}
	for (const list of result.values()) list.sort((a, b) => a.roomId.localeCompare(b.roomId));
	return result;
}

function render(stats: Stats, rooms: Rooms | undefined): void {
	const now = Date.now();
	const placed = roomsByWorker(stats, rooms);
	for (const worker of stats.workers) card(worker.workerId).update(now, worker, placed.get(worker.workerId) ?? []);

	const alive = stats.workers.filter((w) => !w.closed).length;
	view.summary.workers.textContent = `${alive} / ${stats.workers.length}`;
	view.summary.workers.className = alive === stats.workers.length ? 'value' : 'value bad';
	view.summary.rooms.textContent = String(stats.totalRooms);
	view.summary.peers.textContent = String(stats.totalPeers ?? 0);
	view.summary.state.textContent = stats.draining ? 'draining' : 'accepting rooms';
	view.summary.state.className = stats.draining ? 'value warn' : 'value';
	view.version.textContent = [
		stats.version && `tureen ${stats.version}`,
		stats.mediasoupVersion && `mediasoup ${stats.mediasoupVersion}`,
	]
		.filter(Boolean)
		.join(' · ');
}

function showStatus(text: string, ok: boolean): void {
	view.status.textContent = text;
	view.status.className = ok ? 'status ok' : 'status bad';
}

async function poll(): Promise<void> {
	try {
		const [stats, rooms] = await Promise.all([getJson<Stats>('stats'), getJson<Rooms>('rooms').catch(() => undefined)]);
		render(stats, rooms);
		// A single server has no /cluster (and is not asked): the view stays hidden; `nodeId` is only on a cluster node's /stats.
		cluster.update(stats.nodeId ? await getJson<ClusterView>('cluster').catch(() => undefined) : undefined);
		showStatus(`live · updated ${new Date().toLocaleTimeString()}`, true);
	} catch (error) {
		const status = error instanceof HttpError ? error.status : 0;
		showStatus(
			status === 401 || status === 403
				? 'not authorised: open this page as /dashboard?token=<ADMIN_TOKEN>'
				: `cannot reach the server (${(error as Error).message}); retrying`,
			false,
		);
	} finally {
		// Chained rather than setInterval so a slow server never gets overlapping polls.
		setTimeout(() => void poll(), POLL_MS);
	}
}

void poll();
