import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { AudioLevel } from '../../src/services/rooms/audioLevelsPolicy.ts';
import { Room, type RoomMember } from '../../src/services/rooms/room.ts';
import { RoomAudio } from '../../src/services/rooms/roomAudio.ts';
import { FakeProducer, FakeRouter } from '../support/fakeMedia.ts';

const POLICY = { minIntervalMs: 40, minChangeDb: 6 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function setup() {
	const router = new FakeRouter();
	const audio = await RoomAudio.create(router.asRouter(), POLICY);
	const [speaker, levels] = router.observers;
	assert.ok(speaker && levels);
	const sent: AudioLevel[][] = [];
	const speakers: string[] = [];
	audio.on('audioLevels', (l) => sent.push(l));
	audio.on('activeSpeaker', (peerId) => speakers.push(peerId));
	return { router, audio, speaker, levels, sent, speakers };
}

describe('RoomAudio (speaker detection of one router)', () => {
	it('observes audio producers only, in both observers', async () => {
		const { audio, speaker, levels } = await setup();
		const mic = new FakeProducer('audio', { peerId: 'a' });
		await audio.observe(mic);
		await audio.observe(new FakeProducer('video', { peerId: 'a' }));
		assert.deepEqual(speaker.producerIds, [mic.id]);
		assert.deepEqual(levels.producerIds, [mic.id]);
	});

	it('adds a producer once however often it is asked, also concurrently', async () => {
		const { audio, speaker, levels } = await setup();
		const mic = new FakeProducer('audio', { peerId: 'a' });
		await Promise.all([audio.observe(mic), audio.observe(mic)]);
		await audio.observe(mic);
		assert.deepEqual(speaker.producerIds, [mic.id]);
		assert.deepEqual(levels.producerIds, [mic.id]);
	});

	it("names the dominant speaker by its producer's peerId; a producer without one is ignored", async () => {
		const { speaker, speakers } = await setup();
		speaker.emit('dominantspeaker', { producer: new FakeProducer('audio', { peerId: 'a' }) });
		speaker.emit('dominantspeaker', { producer: new FakeProducer('audio', {}) });
		assert.deepEqual(speakers, ['a']);
	});

	it('sends a change at once, holds the next one for the rest of the interval, and always sends the final silence', async () => {
		const { levels, sent } = await setup();
		const a = new FakeProducer('audio', { peerId: 'a' });
		levels.emit('volumes', [{ producer: a, volume: -30 }]);
		assert.deepEqual(sent, [[{ peerId: 'a', volume: -30 }]]);
		levels.emit('volumes', [{ producer: a, volume: -10 }]);
		levels.emit('silence');
		assert.equal(sent.length, 1, 'held within the interval');
		await sleep(POLICY.minIntervalMs + 40);
		assert.deepEqual(sent, [[{ peerId: 'a', volume: -30 }], []], 'the latest reading (silence) once the interval passed; the one in between is skipped');
	});

	it('stops its timer when the router closes', async () => {
		const { router, levels, sent } = await setup();
		const a = new FakeProducer('audio', { peerId: 'a' });
		levels.emit('volumes', [{ producer: a, volume: -30 }]);
		levels.emit('silence');
		router.close();
		await sleep(POLICY.minIntervalMs + 40);
		assert.equal(sent.length, 1);
	});
});

describe('Room speaker detection', () => {
	const member = (peerId: string): RoomMember => ({ peerId, displayName: peerId, close: () => undefined, moved: () => undefined });

	it('a second audio producer arriving while the detector is being made is observed once, not refused', async () => {
		const router = new FakeRouter();
		const room = new Room('r', 0, router.asRouter());
		const [a, b] = [member('a'), member('b')];
		room.addMember(a);
		room.addMember(b);
		const micA = new FakeProducer('audio', { peerId: 'a' });
		const micB = new FakeProducer('audio', { peerId: 'b' });
		// micB asks while micA's request is still making the detector, which re-observes every recorded producer.
		await Promise.all([room.observeAudio(micA, a), room.observeAudio(micB, b)]);
		const [speaker, levels] = router.observers;
		assert.deepEqual([...speaker!.producerIds].sort(), [micA.id, micB.id].sort());
		assert.deepEqual([...levels!.producerIds].sort(), [micA.id, micB.id].sort());
	});
});
