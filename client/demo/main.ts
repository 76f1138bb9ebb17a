// The demo page: join a room by name, publish camera + microphone, see and
// hear everyone else, and see which worker hosts the room.
import { CAMERA_CONSTRAINTS } from '../simulcast.ts';
import { TureenClient, type RemoteTrack } from '../tureenClient.ts';

type VideoStat = { peerId: string; consumerId: string; framesDecoded: number };
type AudioStat = { peerId: string; consumerId: string; packetsReceived: number; totalSamplesReceived: number };

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('join-form');
const roomInput = $<HTMLInputElement>('room');
const nameInput = $<HTMLInputElement>('name');
const statusLine = $<HTMLParagraphElement>('status');
const grid = $<HTMLDivElement>('grid');
const localVideo = $<HTMLVideoElement>('local-video');

const peerNames = new Map<string, string>();
let client: TureenClient | undefined;
let roomId = '';

function setStatus(text: string): void {
	statusLine.textContent = text;
}

function describeWorker(): string {
	return `Room "${roomId}" is hosted on worker ${client?.workerId ?? '?'}`;
}

function tileFor(peerId: string): HTMLDivElement {
	let tile = document.querySelector<HTMLDivElement>(`[data-peer-id="${peerId}"]`);
	if (!tile) {
		tile = document.createElement('div');
		tile.className = 'tile';
		tile.dataset.peerId = peerId;
		const video = document.createElement('video');
		video.autoplay = true;
		video.playsInline = true;
		video.muted = true;
		const audio = document.createElement('audio');
		audio.autoplay = true;
		const label = document.createElement('span');
		label.className = 'name';
		tile.append(video, audio, label);
		grid.append(tile);
	}
	(tile.querySelector('.name') as HTMLSpanElement).textContent = peerNames.get(peerId) ?? 'guest';
	return tile;
}

function showTrack(remote: RemoteTrack): void {
	const tile = tileFor(remote.peerId);
	const element = tile.querySelector(remote.kind) as HTMLMediaElement;
	element.srcObject = new MediaStream([remote.track]);
	void element.play().catch(() => undefined);
	if (remote.kind === 'video') client?.attachVideo(remote.consumerId, element as HTMLVideoElement);
}

function dropTileIfEmpty(peerId: string): void {
	if (!client?.remoteTracks.some((t) => t.peerId === peerId)) {
		document.querySelector(`[data-peer-id="${peerId}"]`)?.remove();
	}
}

async function videoStats(): Promise<VideoStat[]> {
	const stats: VideoStat[] = [];
	for (const remote of client?.remoteTracks ?? []) {
		if (remote.kind !== 'video') continue;
		let framesDecoded = 0;
		const report = await remote.consumer.getStats();
		report.forEach((s: { type: string; framesDecoded?: number }) => {
			if (s.type === 'inbound-rtp') framesDecoded += s.framesDecoded ?? 0;
		});
		stats.push({ peerId: remote.peerId, consumerId: remote.consumerId, framesDecoded });
	}
	return stats;
}

/** Audio received and decoded per remote audio track (totalSamplesReceived counts decoded samples). */
async function audioStats(): Promise<AudioStat[]> {
	const stats: AudioStat[] = [];
	for (const remote of client?.remoteTracks ?? []) {
		if (remote.kind !== 'audio') continue;
		let packetsReceived = 0;
		let totalSamplesReceived = 0;
		const report = await remote.consumer.getStats();
		report.forEach((s: { type: string; packetsReceived?: number; totalSamplesReceived?: number }) => {
			if (s.type !== 'inbound-rtp') return;
			packetsReceived += s.packetsReceived ?? 0;
			totalSamplesReceived += s.totalSamplesReceived ?? 0;
		});
		stats.push({ peerId: remote.peerId, consumerId: remote.consumerId, packetsReceived, totalSamplesReceived });
	}
	return stats;
}

async function join(room: string, displayName: string): Promise<void> {
	roomId = room;
	form.hidden = true;
	setStatus(`Joining "${room}"…`);
	const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
	// ?adaptive=off keeps every remote video at the top layer; ?simulcast=off publishes one encoding.
	client = new TureenClient({
		url: `${scheme}://${location.host}/ws`,
		adaptiveQuality: params.get('adaptive') !== 'off',
		simulcast: params.get('simulcast') !== 'off',
	});
	client.on('track', showTrack);
	client.on('trackEnded', ({ peerId }) => dropTileIfEmpty(peerId));
	client.on('peerJoined', ({ peerId, displayName: name }) => peerNames.set(peerId, name));
	client.on('peerLeft', ({ peerId }) => document.querySelector(`[data-peer-id="${peerId}"]`)?.remove());
	client.on('roomMoved', ({ workerId }) => setStatus(`Worker lost: moving the room to worker ${workerId}…`));
	client.on('recovered', ({ tookMs }) => setStatus(`${describeWorker()} (recovered in ${tookMs} ms)`));
	client.on('error', (problem) => {
		if (problem.during === 'recovery') setStatus(`Worker lost and the room could not be re-joined: ${problem.error.message}`);
		else console.warn(`tureen client: ${problem.during} failed`, problem.error);
	});
	client.on('serverDraining', () => setStatus(`${describeWorker()}; the server is restarting soon`));
	client.on('closed', ({ reason }) => setStatus(`Disconnected: ${reason}`));

	const token = params.get('token') ?? undefined;
	const joined = await client.join({ roomId: room, displayName, ...(token ? { token } : {}) });
	for (const peer of joined.peers) peerNames.set(peer.peerId, peer.displayName);
	for (const remote of client.remoteTracks) showTrack(remote);
	setStatus(describeWorker());

	// ?publish=off joins to watch only.
	if (params.get('publish') === 'off') return;
	const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
	localVideo.srcObject = stream;
	await client.publish(stream.getTracks());
}

function start(room: string, name: string): void {
	join(room, name).catch((error: Error) => setStatus(`Could not join: ${error.message}`));
}

form.addEventListener('submit', (event) => {
	event.preventDefault();
	const url = new URL(location.href);
	url.searchParams.set('room', roomInput.value);
	history.replaceState(null, '', url);
	start(roomInput.value, nameInput.value);
});

nameInput.value = params.get('name') ?? `guest-${Math.floor(Math.random() * 1000)}`;
roomInput.value = params.get('room') ?? 'demo';
if (params.has('room')) start(roomInput.value, nameInput.value);

// For end-to-end tests and curious developers.
Object.assign(window, { tureenDemo: { get client() { return client; }, videoStats, audioStats } });
