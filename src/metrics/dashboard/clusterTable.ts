// Browser code: the cluster view, one row per live node of GET /cluster.
// Shown only when the server is a cluster node (GET /cluster answers).
import type { ClusterNode, ClusterView } from '../../protocol/cluster.ts';
import { el } from './dom.ts';

const COLUMNS = ['Node', 'Region', 'State', 'Workers', 'Rooms', 'Peers', 'CPU'];

export class ClusterTable {
	readonly element: HTMLElement;
	readonly #caption = el('p', 'muted');
	readonly #body = el('tbody');

	constructor() {
		this.element = el('section', 'cluster');
		this.element.id = 'cluster';
		this.element.setAttribute('aria-label', 'Cluster');
		this.element.hidden = true;
		const head = el('tr');
		for (const column of COLUMNS) head.append(el('th', undefined, column));
		const table = el('table');
		table.append(el('thead'), this.#body);
		table.tHead?.append(head);
		this.element.append(el('h2', undefined, 'Cluster'), this.#caption, table);
	}

	update(cluster: ClusterView | undefined): void {
		this.element.hidden = cluster === undefined;
		if (!cluster) return;
		this.#caption.textContent = `Seen from ${cluster.nodeId} · Redis ${cluster.redis === 'up' ? 'reachable' : 'UNREACHABLE (showing the last known nodes)'}`;
		this.#caption.className = cluster.redis === 'up' ? 'muted' : 'bad';
		this.#body.replaceChildren(...cluster.nodes.map((node) => this.#row(node)));
	}

	#row(node: ClusterNode): HTMLTableRowElement {
		const row = el('tr');
		row.dataset.nodeId = node.nodeId;
		const name = el('td');
		// Each node serves its own dashboard; the link keeps the admin token out of the URL.
		const link = el('a', undefined, node.nodeId);
		link.href = `${node.httpUrl}/dashboard`;
		link.rel = 'noreferrer';
		name.append(link, ...(node.self ? [el('span', 'badge', 'this node')] : []));
		const state = node.draining ? 'draining' : node.alive ? 'alive' : 'gone';
		row.append(
			name,
			el('td', undefined, node.region ?? '–'),
			el('td', node.draining ? 'warn' : node.alive ? undefined : 'bad', state),
			el('td', node.workersAlive < node.workers ? 'bad' : undefined, `${node.workersAlive} / ${node.workers}`),
			el('td', undefined, String(Math.max(node.rooms, node.ownedRooms))),
			el('td', undefined, String(node.peers)),
			el('td', undefined, `${Math.round(node.cpu * 100)} %`),
		);
		return row;
	}
}
