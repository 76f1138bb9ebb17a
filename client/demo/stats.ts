// What the demo page reads of each remote track's WebRTC statistics: the
// quality badges, and the figures window.tureenDemo hands the end-to-end tests.
import type { RemoteTrack } from '../tureenClient.ts';
import type { InboundVideoSample } from './quality.ts';

export type VideoStat = { peerId: string; consumerId: string; framesDecoded: number };
export type AudioStat = { peerId: string; consumerId: string; packetsReceived: number; totalSamplesReceived: number };

type InboundRtp = InboundVideoSample & { framesDecoded?: number; totalSamplesReceived?: number };

/** The inbound-rtp entries of a remote track's consumer (one per received stream). */
export async function inboundRtp(remote: RemoteTrack): Promise<InboundRtp[]> {
	const entries: InboundRtp[] = [];
	let roundTripTime: number | undefined;
	type Entry = InboundRtp & { type: string; nominated?: boolean; state?: string; currentRoundTripTime?: number };
	// A consumer that closed meanwhile (its worker died, the peer left) has no stats: it counts as none.
	const report = await remote.consumer.getStats().catch(() => undefined);
	report?.forEach((s: Entry) => {
		if (s.type === 'inbound-rtp') entries.push(s);
		// The receiver's report carries its transport's candidate pairs; the nominated, working one is the path in use.
		if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && s.currentRoundTripTime !== undefined) roundTripTime = s.currentRoundTripTime;
	});
	return roundTripTime === undefined ? entries : entries.map((e) => ({ ...e, roundTripTime }));
}

export async function videoStats(remotes: readonly RemoteTrack[]): Promise<VideoStat[]> {
	const stats: VideoStat[] = [];
	for (const remote of remotes) {
		if (remote.kind !== 'video') continue;
		const framesDecoded = (await inboundRtp(remote)).reduce((sum, s) => sum + (s.framesDecoded ?? 0), 0);
		stats.push({ peerId: remote.peerId, consumerId: remote.consumerId, framesDecoded });
	}
	return stats;
}

/** Audio received and decoded per remote audio track (totalSamplesReceived counts decoded samples). */
export async function audioStats(remotes: readonly RemoteTrack[]): Promise<AudioStat[]> {
	const stats: AudioStat[] = [];
	for (const remote of remotes) {
		if (remote.kind !== 'audio') continue;
		let packetsReceived = 0;
		let totalSamplesReceived = 0;
		for (const s of await inboundRtp(remote)) {
			packetsReceived += s.packetsReceived ?? 0;
			totalSamplesReceived += s.totalSamplesReceived ?? 0;
		}
		stats.push({ peerId: remote.peerId, consumerId: remote.consumerId, packetsReceived, totalSamplesReceived });
	}
	return stats;
}
