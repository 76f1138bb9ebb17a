// The demo page: join a room by name, publish camera + microphone, see and
// hear everyone else; mute, stop the camera, share the screen, chat over data
// channels, leave. The active speaker is highlighted, each tile shows its
// quality, and the header says which worker hosts the room.
import { ChatChannel } from '../chat.ts';
import { CAMERA_CONSTRAINTS } from '../simulcast.ts';
import { TureenClient, type ConnectionState, type RemoteTrack } from '../tureenClient.ts';
import { ChatPanel } from './chatPanel.ts';
import { qualityBadge, type InboundVideoSample } from './quality.ts';
import { audioStats, inboundRtp, videoStats } from './stats.ts';
import { TileBoard } from './tiles.ts';

const QUALITY_INTERVAL_MS = 2000;
const SCREEN_CONSTRAINTS: DisplayMediaStreamOptions = { video: { width: { ideal: 1920 }, height: { ideal: 1080 }, frameRate: { ideal: 15 } }, audio: false };

const params = new URLSearchParams(location.search);
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('join-form');
const roomInput = $<HTMLInputElement>('room');
const nameInput = $<HTMLInputElement>('name');
const statusLine = $<HTMLParagraphElement>('status');
const connectionChip = $<HTMLSpanElement>('connection');
const workersChip = $<HTMLSpanElement>('workers');
const controls = $<HTMLElement>('controls');
const micButton = $<HTMLButtonElement>('mic-button');
const cameraButton = $<HTMLButtonElement>('camera-button');
const screenButton = $<HTMLButtonElement>('screen-button');
const leaveButton = $<HTMLButtonElement>('leave-button');
const localTile = $<HTMLDivElement>('local-tile');
const localVideo = $<HTMLVideoElement>('local-video');

const tiles = new TileBoard($<HTMLDivElement>('grid'));
const chatPanel = new ChatPanel(
	{
		panel: $('chat'),
		log: $<HTMLUListElement>('chat-log'),
		form: $<HTMLFormElement>('chat-form'),
		input: $<HTMLInputElement>('chat-input'),
		error: $('chat-error'),
		toggle: $<HTMLButtonElement>('chat-button'),
		unread: $('unread'),
	},
	(peerId) => tiles.nameOf(peerId),
);

let client: TureenClient | undefined;
let chat: ChatChannel | undefined;
let roomId = '';
let microphone: MediaStreamTrack | undefined;
let camera: MediaStreamTrack | undefined;
let screen: MediaStreamTrack | undefined;
let qualityTimer: ReturnType<typeof setInterval> | undefined;
const lastSamples = new Map<string, InboundVideoSample>();

function setStatus(text: string): void {
	statusLine.textContent = text;
}

function describeWorker(): string {
	return `Room "${roomId}" is hosted on worker ${client?.workerId ?? '?'}`;
}

function showWorkers(): void {
	workersChip.hidden = false;
	workersChip.textContent = `worker ${client?.workerId ?? '?'}`;
	workersChip.title = describeWorker();
}

function showConnection(state: ConnectionState): void {
	connectionChip.hidden = false;
	connectionChip.dataset.state = state;
	connectionChip.textContent = state;
}

function showTrack(remote: RemoteTrack): void {
	const element = tiles.attach(remote.peerId, remote.source, remote.track, remote.paused);
	// Adaptive quality watches camera tiles; a screen share stays at its one full encoding.
	if (remote.kind === 'video' && element instanceof HTMLVideoElement) client?.attachVideo(remote.consumerId, element);
}

function setPressed(button: HTMLButtonElement, pressed: boolean, label: string): void {
	button.setAttribute('aria-pressed', String(pressed));
	button.textContent = label;
}

/** Mute or camera off: pauses the track's producer (the others are told) and marks the local tile. */
async function togglePaused(button: HTMLButtonElement, track: MediaStreamTrack | undefined, labels: [on: string, off: string]): Promise<void> {
	if (!client || !track) return;
	const pause = button.getAttribute('aria-pressed') !== 'true';
	await client.setPaused(track, pause);
	setPressed(button, pause, pause ? labels[1] : labels[0]);
	localTile.dataset[track.kind === 'audio' ? 'mic' : 'camera'] = pause ? 'off' : 'on';
}

async function toggleScreen(): Promise<void> {
	if (!client) return;
	if (screen) return stopScreen();
	const stream = await navigator.mediaDevices.getDisplayMedia(SCREEN_CONSTRAINTS);
	const track = stream.getVideoTracks()[0];
	if (!track) return;
	screen = track;
	track.addEventListener('ended', () => void stopScreen());
	await client.publish([track], { source: 'screen' });
	setPressed(screenButton, true, 'Stop sharing');
	const preview = tiles.tile(client.peerId ?? 'local', 'screen');
	preview.dataset.local = 'true';
	tiles.attach(client.peerId ?? 'local', 'screen', track, false);
	tiles.setName(client.peerId ?? 'local', 'you');
}

async function stopScreen(): Promise<void> {
	const track = screen;
	if (!track || !client) return;
	screen = undefined;
	await client.unpublish(track);
	track.stop();
	tiles.detach(client.peerId ?? 'local', 'screen', 'video');
	setPressed(screenButton, false, 'Share screen');
}

async function leave(): Promise<void> {
	await stopScreen();
	// Forgotten first, so its 'closed' event does not read as a lost connection.
	const leaving = client;
	client = undefined;
	chat = undefined;
	await leaving?.leave();
	for (const track of [microphone, camera]) track?.stop();
	clearInterval(qualityTimer);
	tiles.clear();
	localVideo.srcObject = null;
	controls.hidden = true;
	chatPanel.setOpen(false);
	form.hidden = false;
	setStatus(`You left room "${roomId}".`);
	showConnection('closed');
}

/** Each remote video's quality badge, from two successive stats readings. */
async function refreshQuality(): Promise<void> {
	for (const remote of client?.remoteTracks ?? []) {
		if (remote.kind !== 'video') continue;
		const sample = (await inboundRtp(remote)).at(-1);
		if (!sample) continue;
		tiles.setQuality(remote.peerId, remote.source, qualityBadge(sample, lastSamples.get(remote.consumerId)));
		lastSamples.set(remote.consumerId, sample);
	}
}

function listen(c: TureenClient): void {
	c.on('track', showTrack);
	c.on('trackEnded', ({ consumerId, peerId, source, kind }) => {
		lastSamples.delete(consumerId);
		tiles.detach(peerId, source, kind);
	});
	c.on('trackPaused', ({ peerId, source, paused }) => tiles.setPaused(peerId, source, paused));
	c.on('peerJoined', ({ peerId, displayName }) => tiles.setName(peerId, displayName));
	c.on('peerLeft', ({ peerId }) => tiles.removePeer(peerId));
	c.on('activeSpeaker', ({ peerId }) => tiles.setSpeaker(peerId));
	c.on('connectionState', showConnection);
	c.on('roomMoved', ({ workerId }) => setStatus(`Worker lost: moving the room to worker ${workerId}…`));
	c.on('recovered', ({ tookMs }) => {
		setStatus(`${describeWorker()} (recovered in ${tookMs} ms)`);
		showWorkers();
	});
	c.on('error', (problem) => {
		if (problem.during === 'recovery') setStatus(`Worker lost and the room could not be re-joined: ${problem.error.message}`);
		else console.warn(`tureen client: ${problem.during} failed`, problem.error);
	});
	c.on('serverDraining', () => setStatus(`${describeWorker()}; the server is restarting soon`));
	c.on('closed', ({ reason }) => {
		if (client !== c) return;
		setStatus(`Disconnected: ${reason}`);
		showConnection('closed');
	});
}

async function join(room: string, displayName: string): Promise<void> {
	roomId = room;
	form.hidden = true;
	setStatus(`Joining "${room}"…`);
	showConnection('connecting');
	const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
	// ?adaptive=off keeps every remote video at the top layer; ?simulcast=off publishes one encoding.
	client = new TureenClient({
		url: `${scheme}://${location.host}/ws`,
		adaptiveQuality: params.get('adaptive') !== 'off',
		simulcast: params.get('simulcast') !== 'off',
		// ?relay=on sends media only through the server's TURN servers (TURN_URLS).
		...(params.get('relay') === 'on' ? { iceTransportPolicy: 'relay' as const } : {}),
	});
	listen(client);

	const token = params.get('token') ?? undefined;
	const joined = await client.join({ roomId: room, displayName, ...(token ? { token } : {}) });
	localTile.dataset.peerId = joined.peerId;
	for (const peer of joined.peers) tiles.setName(peer.peerId, peer.displayName);
	for (const remote of client.remoteTracks) showTrack(remote);
	setStatus(describeWorker());
	showWorkers();
	controls.hidden = false;

	// ?publish=off joins to watch only.
	if (params.get('publish') === 'off') return;
	const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: CAMERA_CONSTRAINTS });
	microphone = stream.getAudioTracks()[0];
	camera = stream.getVideoTracks()[0];
	localVideo.srcObject = stream;
	await client.publish(stream.getTracks());
	chat = await ChatChannel.open(client);
	chatPanel.connect(chat);
	qualityTimer = setInterval(() => void refreshQuality().catch(() => undefined), QUALITY_INTERVAL_MS);
}

function start(room: string, name: string): void {
	join(room, name).catch((error: Error) => setStatus(`Could not join: ${error.message}`));
}

function act(button: HTMLButtonElement, action: () => Promise<void>): void {
	button.addEventListener('click', () => {
		button.disabled = true;
		action()
			.catch((error: Error) => setStatus(`${button.textContent ?? 'That'} failed: ${error.message}`))
			.finally(() => (button.disabled = false));
	});
}

act(micButton, () => togglePaused(micButton, microphone, ['Mute', 'Unmute']));
act(cameraButton, () => togglePaused(cameraButton, camera, ['Stop camera', 'Start camera']));
act(screenButton, toggleScreen);
act(leaveButton, leave);

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
Object.assign(window, {
	tureenDemo: {
		get client() {
			return client;
		},
		get chat() {
			return chat;
		},
		videoStats: () => videoStats(client?.remoteTracks ?? []),
		audioStats: () => audioStats(client?.remoteTracks ?? []),
	},
});
