import { Gauge, type Registry } from 'prom-client';

import type { ClusterView } from '../protocol/cluster.ts';

/** What the cluster metrics read: this node's view of the registry as of its last heartbeat (no Redis call at scrape time). */
export type ClusterMetricsSource = { lastView(): ClusterView };

type NodeView = ClusterView['nodes'][number];

/**
 * The node's view of the cluster. Per-node series are labelled by node_id
 * only (bounded by the number of nodes the operator runs) and rebuilt on
 * every scrape, so a node that left stops being reported.
 */
export function registerClusterMetrics(registry: Registry, source: ClusterMetricsSource): void {
	const registers = [registry];
	new Gauge({
		name: 'tureen_cluster_redis_up',
		help: '1 while this node reaches the Redis that coordinates the cluster.',
		registers,
		collect() {
			this.set(source.lastView().redis === 'up' ? 1 : 0);
		},
	});
	new Gauge({
		name: 'tureen_cluster_nodes',
		help: 'Live nodes in the cluster registry, as of this node\'s last heartbeat.',
		registers,
		collect() {
			this.set(source.lastView().nodes.length);
		},
	});
	const perNode: [string, string, (n: NodeView) => number][] = [
		['rooms', 'Rooms the node owns or hosts.', (n) => Math.max(n.rooms, n.ownedRooms)],
		['peers', 'Peers in the rooms the node hosts.', (n) => n.peers],
		['workers_alive', 'Live workers of the node.', (n) => n.workersAlive],
		['cpu_ratio', 'Mean CPU of the node\'s live workers, fraction of one core.', (n) => n.cpu],
		['draining', '1 while the node takes no new rooms.', (n) => (n.draining ? 1 : 0)],
	];
	for (const [name, help, value] of perNode) {
		new Gauge({
			name: `tureen_cluster_node_${name}`,
			help,
			labelNames: ['node_id'],
			registers,
			collect() {
				this.reset();
				for (const node of source.lastView().nodes) this.set({ node_id: node.nodeId }, value(node));
			},
		});
	}
}
