/** One word for the call's connection, from the signalling socket and the transports. */
export type ConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

/**
 * `transports`: the connectionState of each open transport (RTCPeerConnection
 * states). Closed signalling ends the call; a failed transport beats a
 * disconnected one, which beats one still connecting.
 */
export function connectionStateOf(signallingOpen: boolean, transports: readonly string[]): ConnectionState {
	if (!signallingOpen) return 'closed';
	if (transports.includes('failed')) return 'failed';
	if (transports.includes('disconnected')) return 'reconnecting';
	if (transports.length > 0 && transports.every((s) => s === 'connected')) return 'connected';
	return 'connecting';
}
