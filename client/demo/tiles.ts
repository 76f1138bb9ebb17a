// The demo's video tiles: one per remote peer's camera (with its microphone)
// and one per screen share. Tiles carry their state in data- attributes
// (data-mic, data-camera, data-source) that the CSS and the tests read.
import type { MediaSource } from '../../src/protocol/messages.ts';
import type { QualityBadge } from './quality.ts';

type TileSource = Exclude<MediaSource, 'microphone'>;

function initials(name: string): string {
	const letters = name
		.split(/[\s_-]+/)
		.filter(Boolean)
		.map((w) => w[0]?.toUpperCase() ?? '')
		.join('');
	return letters.slice(0, 2) || '?';
}

export class TileBoard {
	readonly #grid: HTMLElement;
	readonly #names = new Map<string, string>();
	#speaker: string | undefined;

	constructor(grid: HTMLElement) {
		this.#grid = grid;
	}

	/** Microphone audio plays in the peer's camera tile. */
	static tileSourceOf(source: MediaSource): TileSource {
		return source === 'screen' ? 'screen' : 'camera';
	}

	setName(peerId: string, name: string): void {
		this.#names.set(peerId, name);
		for (const tile of this.#tilesOf(peerId)) this.#label(tile);
	}

	nameOf(peerId: string): string {
		return this.#names.get(peerId) ?? 'guest';
	}

	/** The tile for this peer and source, made on first use. */
	tile(peerId: string, source: TileSource): HTMLDivElement {
		const found = this.#find(peerId, source);
		if (found) return found;
		const tile = document.createElement('div');
		tile.className = 'tile';
		tile.dataset.peerId = peerId;
		tile.dataset.source = source;
		tile.dataset.mic = source === 'camera' ? 'off' : 'on';
		tile.dataset.camera = 'off';
		const video = document.createElement('video');
		video.autoplay = true;
		video.playsInline = true;
		video.muted = true;
		const audio = document.createElement('audio');
		audio.autoplay = true;
		const avatar = document.createElement('div');
		avatar.className = 'avatar';
		const label = document.createElement('div');
		label.className = 'label';
		const muted = document.createElement('span');
		muted.className = 'muted';
		muted.textContent = 'muted';
		const name = document.createElement('span');
		name.className = 'name';
		label.append(muted, name);
		const quality = document.createElement('span');
		quality.className = 'quality';
		tile.append(video, audio, avatar, label, quality);
		tile.classList.toggle('speaking', source === 'camera' && peerId === this.#speaker);
		this.#label(tile);
		this.#grid.append(tile);
		return tile;
	}

	/** Plays a track in its tile (returning the element); an audio track's state shows as the mic badge, a video's as the camera. */
	attach(peerId: string, source: MediaSource, track: MediaStreamTrack, paused: boolean): HTMLMediaElement {
		const tile = this.tile(peerId, TileBoard.tileSourceOf(source));
		const element = tile.querySelector(track.kind === 'audio' ? 'audio' : 'video') as HTMLMediaElement;
		element.srcObject = new MediaStream([track]);
		void element.play().catch(() => undefined);
		this.setPaused(peerId, source, paused);
		return element;
	}

	/** A track ended: its side of the tile goes dark; a tile with nothing left goes away. */
	detach(peerId: string, source: MediaSource, kind: 'audio' | 'video'): void {
		const tile = this.#find(peerId, TileBoard.tileSourceOf(source));
		if (!tile) return;
		const element = tile.querySelector(kind) as HTMLMediaElement;
		element.srcObject = null;
		if (kind === 'audio') tile.dataset.mic = 'off';
		else tile.dataset.camera = 'off';
		const empty = !(tile.querySelector('video') as HTMLVideoElement).srcObject && !(tile.querySelector('audio') as HTMLAudioElement).srcObject;
		if (empty) tile.remove();
	}

	setPaused(peerId: string, source: MediaSource, paused: boolean): void {
		const tile = this.#find(peerId, TileBoard.tileSourceOf(source));
		if (!tile) return;
		if (source === 'microphone') tile.dataset.mic = paused ? 'off' : 'on';
		else tile.dataset.camera = paused ? 'off' : 'on';
	}

	setQuality(peerId: string, source: MediaSource, badge: QualityBadge | undefined): void {
		const element = this.#find(peerId, TileBoard.tileSourceOf(source))?.querySelector<HTMLElement>('.quality');
		if (!element) return;
		element.textContent = badge?.text ?? '';
		element.title = badge?.title ?? '';
		if (badge) element.dataset.level = badge.level;
	}

	/** Highlights the active speaker's camera tile (the local tile too, when it carries the peerId). */
	setSpeaker(peerId: string | undefined): void {
		this.#speaker = peerId;
		for (const tile of document.querySelectorAll<HTMLElement>('.tile[data-source="camera"]')) {
			tile.classList.toggle('speaking', peerId !== undefined && tile.dataset.peerId === peerId);
		}
	}

	removePeer(peerId: string): void {
		for (const tile of this.#tilesOf(peerId)) tile.remove();
		this.#names.delete(peerId);
	}

	clear(): void {
		this.#grid.replaceChildren();
	}

	#find(peerId: string, source: TileSource): HTMLDivElement | null {
		return this.#grid.querySelector<HTMLDivElement>(`.tile[data-peer-id="${CSS.escape(peerId)}"][data-source="${source}"]`);
	}

	#tilesOf(peerId: string): HTMLDivElement[] {
		return [...this.#grid.querySelectorAll<HTMLDivElement>(`.tile[data-peer-id="${CSS.escape(peerId)}"]`)];
	}

	#label(tile: HTMLDivElement): void {
		const name = this.nameOf(tile.dataset.peerId ?? '');
		const screen = tile.dataset.local === 'true' ? 'your screen' : `${name}'s screen`;
		(tile.querySelector('.name') as HTMLElement).textContent = tile.dataset.source === 'screen' ? screen : name;
		(tile.querySelector('.avatar') as HTMLElement).textContent = initials(name);
	}
}
