import { EventEmitter } from 'node:events';

import * as mediasoup from 'mediasoup';
import type { types as ms } from 'mediasoup';

import { cpuFraction, MovingAverage, type CpuTimes } from './cpuUsage.ts';
import type { RtcPortMode } from '../../protocol/stats.ts';
import type { PortRange } from './portPlan.ts';

export type ManagedWorkerEvents = {
	/** The mediasoup worker process is gone (crash, kill, or it stopped answering). */
	died: [reason: string];
	/** A CPU/memory sample failed for another reason than a hung or closing worker; the figures are stale. */
	sampleFailed: [error: Error];
};

/** Where the worker's WebRTC transports listen (WEBRTC_LISTEN_IP, ANNOUNCED_IP). */
export type WebRtcListen = { ip: string; announcedAddress: string | undefined };

/** How a WebRTC transport is told where to listen: its own ports of the range, or the worker's WebRtcServer. */
export type WebRtcTransportListen = { listenInfos: ms.TransportListenInfo[] } | { webRtcServer: ms.WebRtcServer };

export type ManagedWorkerOptions = {
	workerId: number;
	/** In single mode min === max: the WebRtcServer's UDP and TCP port. */
	portRange: PortRange;
	portMode: RtcPortMode;
	listen: WebRtcListen;
	cpuSampleIntervalMs: number;
	/** A worker that does not answer getResourceUsage() within this counts as dead. */
	unresponsiveTimeoutMs: number;
	logLevel: ms.WorkerLogLevel;
};

const CPU_AVERAGE_SAMPLES = 5;

class Timeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Timeout(`no answer within ${ms} ms`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

/**
 * One slot of the pool: a stable workerId and port range, and the mediasoup
 * worker process currently filling it (replaced on respawn). Samples CPU and
 * memory from the worker and reports its death once.
 */
export class ManagedWorker extends EventEmitter<ManagedWorkerEvents> {
	readonly workerId: number;
	readonly portRange: PortRange;
	readonly #options: ManagedWorkerOptions;
	readonly #cpuAverage = new MovingAverage(CPU_AVERAGE_SAMPLES);
	#worker: ms.Worker | undefined;
	/** Single mode: the worker's one UDP + one TCP listener, re-created on respawn. */
	#webRtcServer: ms.WebRtcServer | undefined;
	#lastTimes: CpuTimes | undefined;
	#sampler: NodeJS.Timeout | undefined;
	#sampling = false;
	#cpu = 0;
	#maxRssKb = 0;
	#startedAt = 0;
	/** Epoch ms of the last time a room or a room's router was put here; 0 = never. */
	#lastUsedAt = 0;
	#restarts = 0;
	#draining = false;
	/** Open WebRTC transports; each binds one UDP and one TCP port of the range. */
	#transports = new Set<ms.WebRtcTransport>();
	/** Set when the worker refused a transport for want of a port; cleared when one closes. */
	#portsExhausted = false;

	private constructor(options: ManagedWorkerOptions) {
		super();
		this.#options = options;
		this.workerId = options.workerId;
		this.portRange = options.portRange;
	}

	static async create(options: ManagedWorkerOptions): Promise<ManagedWorker> {
		const managed = new ManagedWorker(options);
		await managed.start();
		return managed;
	}

	/** Spawns a mediasoup worker into this slot (first start or respawn). */
	async start(): Promise<void> {
		const worker = await mediasoup.createWorker({
			logLevel: this.#options.logLevel,
			appData: { workerId: this.workerId },
		});
		if (this.#options.portMode === 'single') {
			try {
				this.#webRtcServer = await worker.createWebRtcServer({
					listenInfos: this.#listenInfos({ port: this.portRange.min }),
					appData: { workerId: this.workerId },
				});
			} catch (error) {
				worker.close();
				throw new Error(`worker ${this.workerId}: could not listen on RTC port ${this.portRange.min} (UDP and TCP): ${(error as Error).message}`, {
					cause: error,
				});
			}
		}
		this.#worker = worker;
		this.#startedAt = Date.now();
		this.#lastTimes = undefined;
		this.#cpu = 0;
		this.#cpuAverage.reset();
		this.#transports = new Set();
		this.#portsExhausted = false;
		worker.on('died', (error) => this.#markDead(worker, `worker process died: ${error.message}`));
		this.#sampler = setInterval(() => void this.#sample(), this.#options.cpuSampleIntervalMs);
		this.#sampler.unref();
		await this.#sample();
	}

	/** The live mediasoup worker; undefined while this slot is dead. */
	get worker(): ms.Worker | undefined {
		return this.#worker;
	}

	get alive(): boolean {
		return this.#worker !== undefined && !this.#worker.closed;
	}

	get pid(): number | undefined {
		return this.#worker?.pid;
	}

	/** CPU over the last sample interval, as a fraction of one core. */
	get cpuUsage(): number {
		return this.#cpu;
	}

	/** Mean of the last few samples: what placement looks at. */
	get cpuUsageAverage(): number {
		return this.#cpuAverage.value;
	}

	get maxRssKb(): number {
		return this.#maxRssKb;
	}

	get lastUsedAt(): number {
		return this.#lastUsedAt;
	}

	/** Placement put a room, or a room's new router, here at `now` (epoch ms). */
	markUsed(now: number): void {
		this.#lastUsedAt = now;
	}

	/** Respawns into this slot so far. */
	get restarts(): number {
		return this.#restarts;
	}

	/** The pool filled this slot again after its worker died. */
	countRestart(): void {
		this.#restarts += 1;
	}

	/** While draining, placement puts nothing new here. */
	get draining(): boolean {
		return this.#draining;
	}

	setDraining(draining: boolean): void {
		this.#draining = draining;
	}

	get uptimeMs(): number {
		return this.alive ? Date.now() - this.#startedAt : 0;
	}

	/** Counts the transport's ports as used until it closes. */
	trackTransport(transport: ms.WebRtcTransport): void {
		const transports = this.#transports;
		transports.add(transport);
		transport.observer.once('close', () => {
			transports.delete(transport);
			this.#portsExhausted = false;
		});
	}

	notePortsExhausted(): void {
		this.#portsExhausted = true;
	}

	get portMode(): RtcPortMode {
		return this.#options.portMode;
	}

	/**
	 * Ports of the range in use (per protocol: each transport takes one UDP
	 * and one TCP port). Single mode: 1 while the WebRtcServer listens, however
	 * many transports share it.
	 */
	get portsInUse(): number {
		if (this.#options.portMode === 'single') return this.alive && this.#webRtcServer && !this.#webRtcServer.closed ? 1 : 0;
		return this.#transports.size;
	}

	get portCapacity(): number {
		return this.portRange.max - this.portRange.min + 1;
	}

	/** Single mode never runs out: transports share the server's port. */
	get portsExhausted(): boolean {
		if (this.#options.portMode === 'single') return false;
		return this.#portsExhausted || this.portsInUse >= this.portCapacity;
	}

	/** Fraction of the range in use, 1 while exhausted: what placement looks at. Single mode: 0, ports never fill up. */
	get portUse(): number {
		if (this.#options.portMode === 'single') return 0;
		return this.portsExhausted ? 1 : this.portsInUse / this.portCapacity;
	}

	/** What a new WebRTC transport on this worker listens with. Throws while single mode has no server (dead slot). */
	webRtcTransportListen(): WebRtcTransportListen {
		if (this.#options.portMode === 'range') return { listenInfos: this.#listenInfos({ portRange: this.portRange }) };
		const server = this.#webRtcServer;
		if (!server || server.closed) throw new Error(`worker ${this.workerId} has no WebRtcServer (its process is down)`);
		return { webRtcServer: server };
	}

	#listenInfos(ports: { port: number } | { portRange: PortRange }): ms.TransportListenInfo[] {
		const { ip, announcedAddress } = this.#options.listen;
		const base = { ip, ...ports, ...(announcedAddress ? { announcedAddress } : {}) };
		return [
			{ protocol: 'udp', ...base },
			{ protocol: 'tcp', ...base },
		];
	}

	async #sample(): Promise<void> {
		const worker = this.#worker;
		if (!worker || worker.closed || this.#sampling) return;
		this.#sampling = true;
		try {
			const usage = await withTimeout(worker.getResourceUsage(), this.#options.unresponsiveTimeoutMs);
			const now: CpuTimes = { cpuMs: usage.ru_utime + usage.ru_stime, atMs: Date.now() };
			if (this.#lastTimes) {
				this.#cpu = cpuFraction(this.#lastTimes, now);
				this.#cpuAverage.push(this.#cpu);
			}
			this.#lastTimes = now;
			this.#maxRssKb = usage.ru_maxrss;
		} catch (error) {
			if (error instanceof Timeout && this.#worker === worker) {
				this.#markDead(worker, `worker stopped answering: ${error.message}`);
				// A hung process ignores polite requests; make sure it is gone.
				try {
					process.kill(worker.pid, 'SIGKILL');
				} catch {
					// already gone
				}
				worker.close();
			} else if (!worker.closed && this.#worker === worker) {
				this.emit('sampleFailed', error instanceof Error ? error : new Error(String(error)));
			}
			// Otherwise the worker is closing; its 'died' event tells the rest.
		} finally {
			this.#sampling = false;
		}
	}

	#markDead(worker: ms.Worker, reason: string): void {
		if (this.#worker !== worker) return;
		this.#worker = undefined;
		this.#webRtcServer = undefined;
		clearInterval(this.#sampler);
		this.#cpu = 0;
		this.emit('died', reason);
	}

	/** Closes the worker for good (shutdown); no 'died' event. */
	close(): void {
		clearInterval(this.#sampler);
		const worker = this.#worker;
		this.#worker = undefined;
		this.#webRtcServer = undefined;
		worker?.close();
	}
}
