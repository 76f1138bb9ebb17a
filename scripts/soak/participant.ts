// One simulated participant of the soak, looping until told to stop: joins a
// room through one of the nodes (the client follows WRONG_NODE to the room's
// owner by itself), publishes synthetic audio (and, for some, small video)
// over @roamhq/wrtc, opens a data channel and sends on it, unpublishes and
// re-publishes now and then, stays a while, leaves, pauses, and again. Only
// the public client library (client/tureenClient.ts via test/support) is used.
import type { DataSender, TureenClient } from '../../client/tureenClient.ts';
import { newNodeClient } from '../../test/support/nodeClient.ts';
import { createSyntheticAudioTrack, createSyntheticVideoTrack, type SyntheticTrack } from '../../test/support/nodeWebRtc.ts';

export type ChurnCounters = {
	joins: number;
	joinFailures: Map<string, number>;
	leaves: number;
	publishes: number;
	unpublishes: number;
	dataSent: number;
	dataReceived: number;
	tracksReceived: number;
	roomMoved: number;
	recovered: number;
	reconnecting: number;
	closedByServer: number;
	clientErrors: Map<string, number>;
	stepFailures: Map<string, number>;
};

export function newCounters(): ChurnCounters {
	return {
		joins: 0,
		joinFailures: new Map(),
		leaves: 0,
		publishes: 0,
		unpublishes: 0,
		dataSent: 0,
		dataReceived: 0,
		tracksReceived: 0,
		roomMoved: 0,
		recovered: 0,
		reconnecting: 0,
		closedByServer: 0,
		clientErrors: new Map(),
		stepFailures: new Map(),
	};
}

function bump(map: Map<string, number>, key: string): void {
	map.set(key, (map.get(key) ?? 0) + 1);
}

/** A short reason for a failure: the protocol error code when there is one, else the first words. */
function reasonOf(error: unknown): string {
	const code = (error as { code?: unknown } | undefined)?.code;
	if (typeof code === 'string') return code;
	const message = error instanceof Error ? error.message : String(error);
	return message.replace(/\d+/g, 'N').slice(0, 60);
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	try {
		return await Promise.race([
			promise,
			new Promise<never>((_, reject) => {
				timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
			}),
		]);
	} finally {
		clearTimeout(timer);
	}
}

export type ParticipantPlan = {
	index: number;
	/** Base URLs (http://127.0.0.1:port) of the nodes to join through. */
	nodeUrls: () => readonly string[];
	roomIds: readonly string[];
	/** Publishes a small video track too (costs CPU: keep to a few). */
	video: boolean;
	/** Stay in a room this long (ms), picked per visit. */
	stayMs: [number, number];
	pauseMs: [number, number];
	random: () => number;
	counters: ChurnCounters;
	log: (line: string) => void;
};

const STEP_MS = 2_000;
const REQUEST_TIMEOUT_MS = 20_000;

/** One participant; `run` loops until `stop()` and then leaves. */
export class Participant {
	readonly #plan: ParticipantPlan;
	#stopping = false;
	/** Set while this participant leaves on its own, so its own close is not counted as the server's. */
	#leaving = false;
	#wake: (() => void) | undefined;
	current: { roomId: string; nodeUrl: string } | undefined;

	constructor(plan: ParticipantPlan) {
		this.#plan = plan;
	}

	stop(): void {
		this.#stopping = true;
		this.#wake?.();
	}

	#between([min, max]: [number, number]): number {
		return min + Math.floor(this.#plan.random() * (max - min));
	}

	#pick<T>(items: readonly T[]): T {
		return items[Math.floor(this.#plan.random() * items.length)]!;
	}

	/** Sleeps up to ms; returns at once when stopped. */
	async #sleep(ms: number): Promise<void> {
		if (this.#stopping) return;
		await new Promise<void>((resolve) => {
			const timer = setTimeout(done, ms);
			function done() {
				clearTimeout(timer);
				resolve();
			}
			this.#wake = done;
		});
		this.#wake = undefined;
	}

	async run(): Promise<void> {
		while (!this.#stopping) {
			await this.#visit();
			await this.#sleep(this.#between(this.#plan.pauseMs));
		}
	}

	async #visit(): Promise<void> {
		const { counters } = this.#plan;
		const nodeUrl = this.#pick(this.#plan.nodeUrls());
		const roomId = this.#pick(this.#plan.roomIds);
		const client = newNodeClient(nodeUrl);
		this.#leaving = false;
		let joined = false;
		const tracks: SyntheticTrack[] = [];
		this.#listen(client);
		try {
			try {
				await withTimeout(client.join({ roomId, displayName: `soak-${this.#plan.index}` }), REQUEST_TIMEOUT_MS, 'join');
			} catch (error) {
				bump(counters.joinFailures, reasonOf(error));
				return;
			}
			counters.joins++;
			joined = true;
			this.current = { roomId, nodeUrl };
			const audio = createSyntheticAudioTrack({ frequency: 300 + 50 * this.#plan.index });
			tracks.push(audio);
			let video = this.#plan.video ? createSyntheticVideoTrack({ width: 160, height: 120, fps: 10 }) : undefined;
			if (video) tracks.push(video);
			await this.#step('publish', () => client.publish(tracks.map((t) => t.track)));
			counters.publishes += tracks.length;
			const sender = await this.#step('openDataChannel', () => client.openDataChannel('soak'));

			const deadline = Date.now() + this.#between(this.#plan.stayMs);
			let videoPublished = video !== undefined;
			for (let step = 0; !this.#stopping && Date.now() < deadline && step < 1_000; step++) {
				await this.#sleep(STEP_MS);
				if (this.#stopping) break;
				this.#send(sender, step);
				// Now and then take the video down and put a new one up (or, without video, the audio).
				if (this.#plan.random() < 0.15) {
					if (video && videoPublished) {
						await this.#step('unpublish', () => client.unpublish(video!.track));
						video.stop();
						counters.unpublishes++;
						videoPublished = false;
					} else if (this.#plan.video) {
						video = createSyntheticVideoTrack({ width: 160, height: 120, fps: 10 });
						tracks.push(video);
						await this.#step('publish', () => client.publish([video!.track]));
						counters.publishes++;
						videoPublished = true;
					} else {
						await this.#step('unpublish', () => client.unpublish(audio.track));
						counters.unpublishes++;
						await this.#step('publish', () => client.publish([audio.track]));
						counters.publishes++;
					}
				}
			}
		} catch {
			// #step counted it; leave and start over.
		} finally {
			this.current = undefined;
			await this.#teardown(client, tracks, joined);
		}
	}

	#send(sender: DataSender | undefined, step: number): void {
		if (!sender) return;
		try {
			sender.send(JSON.stringify({ from: this.#plan.index, step, at: Date.now(), pad: 'x'.repeat(200) }));
			this.#plan.counters.dataSent++;
		} catch (error) {
			bump(this.#plan.counters.stepFailures, `send: ${reasonOf(error)}`);
		}
	}

	async #step<T>(what: string, action: () => Promise<T>): Promise<T> {
		try {
			return await withTimeout(action(), REQUEST_TIMEOUT_MS, what);
		} catch (error) {
			bump(this.#plan.counters.stepFailures, `${what}: ${reasonOf(error)}`);
			throw error;
		}
	}

	#listen(client: TureenClient): void {
		const { counters } = this.#plan;
		client.on('track', () => counters.tracksReceived++);
		client.on('data', () => counters.dataReceived++);
		client.on('roomMoved', () => counters.roomMoved++);
		client.on('recovered', () => counters.recovered++);
		client.on('reconnecting', () => counters.reconnecting++);
		client.on('closed', () => {
			if (!this.#leaving) counters.closedByServer++;
		});
		client.on('error', (error) => bump(counters.clientErrors, `${error.during}: ${reasonOf(error.error)}`));
	}

	/** Leaves (bounded), stops the synthetic sources and closes the client's peer connections whatever state it is in. */
	async #teardown(client: TureenClient, tracks: SyntheticTrack[], joined: boolean): Promise<void> {
		this.#leaving = true;
		for (const track of tracks) track.stop();
		try {
			await withTimeout(client.leave(), 10_000, 'leave');
			if (joined) this.#plan.counters.leaves++;
		} catch (error) {
			bump(this.#plan.counters.stepFailures, `leave: ${reasonOf(error)}`);
		}
		// leave() skips closing media when the socket was already gone: close the transports (their peer connections) here.
		for (const transport of [client.sendTransport, client.recvTransport]) {
			try {
				transport?.close();
			} catch {
				// already closed
			}
		}
	}
}
