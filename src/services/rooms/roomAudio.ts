import { EventEmitter } from 'node:events';

import type { types as ms } from 'mediasoup';

import { decideLevels, type AudioLevel, type AudioLevelsPolicy, type LevelsSent } from './audioLevelsPolicy.ts';

/** A router as far as room audio needs one: it makes the two observers. */
export type AudioObservingRouter = Pick<ms.Router, 'createActiveSpeakerObserver' | 'createAudioLevelObserver'>;
/** The producer fields room audio reads: who owns it (appData.peerId, set by the server) and its id. */
type ObservedProducer = Pick<ms.Producer, 'id' | 'appData'>;
/** What observe() needs of a producer: also its kind, whether it closed, and when it closes. */
export type WatchedProducer = ObservedProducer & Pick<ms.Producer, 'kind' | 'closed'> & { readonly observer: { once(event: 'close', listener: () => void): unknown } };

export type RoomAudioEvents = {
	/** The dominant speaker changed (mediasoup's ActiveSpeakerObserver). */
	activeSpeaker: [peerId: string];
	/** Who is heard and how loud, throttled by the audio levels policy. */
	audioLevels: [levels: AudioLevel[]];
};

/** How often mediasoup reports dominant-speaker changes and volumes. */
const ACTIVE_SPEAKER_INTERVAL_MS = 300;
const LEVELS_INTERVAL_MS = 500;
/** Quieter than this (dBov) is not "heard" in audioLevels. */
const LEVELS_THRESHOLD_DB = -70;
const LEVELS_MAX_ENTRIES = 8;
export const AUDIO_LEVELS_POLICY: AudioLevelsPolicy = { minIntervalMs: 1000, minChangeDb: 6 };

function ownerOf(producer: ObservedProducer): string | undefined {
	const peerId = producer.appData.peerId;
	return typeof peerId === 'string' ? peerId : undefined;
}

/**
 * One router's view of who is speaking: an ActiveSpeakerObserver and an
 * AudioLevelObserver that every audio producer of the room is added to.
 * Both close with their router (a room move makes a new RoomAudio on the new
 * router); a closed producer leaves them by itself.
 */
export class RoomAudio extends EventEmitter<RoomAudioEvents> {
	readonly #speaker: ms.ActiveSpeakerObserver;
	readonly #levels: ms.AudioLevelObserver;
	readonly #policy: AudioLevelsPolicy;
	/** Producers added (or being added) to the observers: mediasoup refuses one twice. */
	readonly #observed = new Set<string>();
	#latest: AudioLevel[] = [];
	#lastSent: LevelsSent | undefined;
	#timer: NodeJS.Timeout | undefined;

	private constructor(speaker: ms.ActiveSpeakerObserver, levels: ms.AudioLevelObserver, policy: AudioLevelsPolicy) {
		super();
		this.#speaker = speaker;
		this.#levels = levels;
		this.#policy = policy;
		speaker.on('dominantspeaker', ({ producer }) => {
			const peerId = ownerOf(producer);
			if (peerId) this.emit('activeSpeaker', peerId);
		});
		levels.on('volumes', (volumes) => this.#read(volumes.flatMap(({ producer, volume }) => {
			const peerId = ownerOf(producer);
			return peerId ? [{ peerId, volume }] : [];
		})));
		levels.on('silence', () => this.#read([]));
		speaker.observer.once('close', () => clearTimeout(this.#timer));
	}

	static async create(router: AudioObservingRouter, policy: AudioLevelsPolicy = AUDIO_LEVELS_POLICY): Promise<RoomAudio> {
		const speaker = await router.createActiveSpeakerObserver({ interval: ACTIVE_SPEAKER_INTERVAL_MS });
		const levels = await router.createAudioLevelObserver({
			interval: LEVELS_INTERVAL_MS,
			threshold: LEVELS_THRESHOLD_DB,
			maxEntries: LEVELS_MAX_ENTRIES,
		});
		return new RoomAudio(speaker, levels, policy);
	}

	/**
	 * Watches an audio producer of this router, once however often it is
	 * asked (a detector being made re-observes every producer, including one
	 * whose own request is on its way); a producer closed meanwhile is skipped.
	 */
	async observe(producer: WatchedProducer): Promise<void> {
		if (producer.kind !== 'audio' || this.#speaker.closed || this.#observed.has(producer.id)) return;
		this.#observed.add(producer.id);
		producer.observer.once('close', () => this.#observed.delete(producer.id));
		try {
			await Promise.all([this.#speaker.addProducer({ producerId: producer.id }), this.#levels.addProducer({ producerId: producer.id })]);
		} catch (error) {
			this.#observed.delete(producer.id);
			// Closed between produce and here (peer left, router moved): nothing to watch.
			if (!producer.closed && !this.#speaker.closed) throw error;
		}
	}

	#read(levels: AudioLevel[]): void {
		this.#latest = levels;
		if (!this.#timer) this.#decide();
	}

	#decide(): void {
		this.#timer = undefined;
		const now = Date.now();
		const decision = decideLevels(this.#lastSent, this.#latest, now, this.#policy);
		if (decision.action === 'send') {
			this.#lastSent = { at: now, levels: decision.levels };
			this.emit('audioLevels', decision.levels);
		} else if (decision.action === 'wait') {
			this.#timer = setTimeout(() => this.#decide(), decision.ms);
			this.#timer.unref();
		}
	}
}
