// WebRTC statistics of the demo page for the simulcast tests: what a
// subscriber decodes per remote video, and what a publisher sends per
// simulcast encoding (RTP stream id r0/r1/r2).
import type { Page } from 'playwright-core';

export type InboundVideo = { consumerId: string; frameWidth: number; bytesReceived: number; framesDecoded: number };
export type OutboundEncoding = { rid: string; bytesSent: number; frameWidth: number; active: boolean | undefined };

export function inboundVideo(page: Page): Promise<InboundVideo[]> {
	return page.evaluate(async () => {
		type Stat = { type: string; frameWidth?: number; bytesReceived?: number; framesDecoded?: number };
		type Remote = { kind: string; consumerId: string; consumer: { getStats(): Promise<Map<string, Stat>> } };
		const client = (window as unknown as { tureenDemo?: { client?: { remoteTracks: Remote[] } } }).tureenDemo?.client;
		const out: InboundVideo[] = [];
		for (const remote of client?.remoteTracks ?? []) {
			if (remote.kind !== 'video') continue;
			const entry = { consumerId: remote.consumerId, frameWidth: 0, bytesReceived: 0, framesDecoded: 0 };
			(await remote.consumer.getStats()).forEach((s) => {
				if (s.type !== 'inbound-rtp') return;
				entry.frameWidth = s.frameWidth ?? 0;
				entry.bytesReceived += s.bytesReceived ?? 0;
				entry.framesDecoded += s.framesDecoded ?? 0;
			});
			out.push(entry);
		}
		return out;
	});
}

export function outboundVideo(page: Page): Promise<OutboundEncoding[]> {
	return page.evaluate(async () => {
		type Stat = { type: string; kind?: string; rid?: string; bytesSent?: number; frameWidth?: number; active?: boolean };
		const client = (window as unknown as { tureenDemo?: { client?: { sendTransport?: { getStats(): Promise<Map<string, Stat>> } } } })
			.tureenDemo?.client;
		const out: OutboundEncoding[] = [];
		(await client?.sendTransport?.getStats())?.forEach((s) => {
			if (s.type === 'outbound-rtp' && s.kind === 'video') {
				out.push({ rid: s.rid ?? '', bytesSent: s.bytesSent ?? 0, frameWidth: s.frameWidth ?? 0, active: s.active });
			}
		});
		return out.sort((a, b) => a.rid.localeCompare(b.rid));
	});
}

/** The top encoding's (r2) bytes sent over `ms`: rising means it is being sent (NaN while it has no stats). */
export async function topEncodingGrowth(page: Page, ms = 1000): Promise<number> {
	const top = (encodings: OutboundEncoding[]) => encodings.find((e) => e.rid === 'r2')?.bytesSent ?? NaN;
	const before = top(await outboundVideo(page));
	await new Promise((resolve) => setTimeout(resolve, ms));
	return top(await outboundVideo(page)) - before;
}

/** Calls a method of the page's TureenClient (layer control) by name. */
export function callClient(page: Page, method: string, ...args: unknown[]): Promise<void> {
	return page.evaluate(
		async ([name, params]) => {
			const client = (window as unknown as { tureenDemo: { client: Record<string, (...a: unknown[]) => Promise<void>> } }).tureenDemo.client;
			await client[name]!(...params);
		},
		[method, args] as const,
	);
}
