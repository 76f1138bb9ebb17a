// Whether a peer's receive capabilities can take any of a room's codecs: a
// pure check, so join can refuse a peer that could never consume anything
// with a reason, instead of every later consume failing.

type Codec = { kind: string; mimeType: string; clockRate: number };

// Retransmission is a companion of a media codec, never media by itself.
const isMedia = (codec: Codec) => !/\/(rtx|red|ulpfec|flexfec)$/i.test(codec.mimeType);
const sameCodec = (a: Codec, b: Codec) =>
	a.kind === b.kind && a.mimeType.toLowerCase() === b.mimeType.toLowerCase() && a.clockRate === b.clockRate;

/** Why `peer` can receive none of the room's media codecs, or undefined when it can receive at least one. */
export function unconsumableReason(room: readonly Codec[], peer: readonly Codec[]): string | undefined {
	const offered = room.filter(isMedia);
	if (offered.some((codec) => peer.some((own) => sameCodec(codec, own)))) return undefined;
	const list = offered.map((c) => `${c.mimeType}/${c.clockRate}`).join(', ');
	return `rtpCapabilities can receive none of this room's codecs (${list})`;
}
