import { onKeyFrameRequest, onKeyFrameTimer, type KeyFrameState } from '../../limits/keyFramePolicy.ts';

/** Sends one key-frame request to the publisher (e.g. a consumer's requestKeyFrame). */
export type AskKeyFrame = () => Promise<void>;

/**
 * Applies keyFramePolicy.ts per stream key (producer and spatial layer):
 * keeps each stream's state while it was asked within the interval, and the
 * timer of its deferred request. A deferred request is sent through the
 * latest asker. One per server.
 */
export class KeyFrameGate {
	readonly #intervalMs: number;
	readonly #now: () => number;
	readonly #streams = new Map<string, { state: KeyFrameState; ask: AskKeyFrame; timer: NodeJS.Timeout | undefined }>();

	constructor(intervalMs: number, now: () => number = Date.now) {
		this.#intervalMs = intervalMs;
		this.#now = now;
	}

	/** Streams asked within the interval (tests, metrics). */
	get streams(): number {
		return this.#streams.size;
	}

	/** A subscriber asks for a key frame of `stream`; resolves once sent, or at once when folded into a later one. */
	async request(stream: string, ask: AskKeyFrame): Promise<void> {
		if (this.#intervalMs <= 0) return ask();
		const entry = this.#streams.get(stream);
		const { decision, state } = onKeyFrameRequest(entry?.state, this.#now(), this.#intervalMs);
		const next = { state, ask, timer: entry?.timer };
		this.#streams.set(stream, next);
		if (decision.action === 'fold') return;
		clearTimeout(next.timer);
		const delay = decision.action === 'defer' ? decision.at - this.#now() : this.#intervalMs;
		next.timer = setTimeout(() => this.#due(stream), Math.max(0, delay));
		next.timer.unref();
		if (decision.action === 'send') await ask();
	}

	/** The stream's interval ended: send what was folded (and wait another interval), or forget the stream. */
	#due(stream: string): void {
		const entry = this.#streams.get(stream);
		if (!entry) return;
		const { send, state } = onKeyFrameTimer(entry.state, this.#now());
		if (!send) {
			this.#streams.delete(stream);
			return;
		}
		entry.state = state;
		entry.timer = setTimeout(() => this.#due(stream), this.#intervalMs);
		entry.timer.unref();
		// The asker's consumer may have closed meanwhile: a failed request is nobody's to answer.
		void entry.ask().catch(() => undefined);
	}
}
