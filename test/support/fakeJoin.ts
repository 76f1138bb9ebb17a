// A peer joined on a fake socket of a real server (getRouterRtpCapabilities, then join), for the signalling tests.
import type { ResponseMessage } from '../../src/protocol/messages.ts';
import type { SignallingConnection } from '../../src/signalling/connection.ts';
import type { SignallingHub } from '../../src/signalling/index.ts';
import { fakeConnection, type FakeSocket } from './fakeSocket.ts';

/** Joins `roomId` from `ip` (with `token` when given); `reply` is the join's answer, or the first refusal. */
export async function fakeJoin(
	server: { signalling: SignallingHub },
	roomId: string,
	displayName: string,
	{ ip = '127.0.0.1', token }: { ip?: string; token?: string } = {},
): Promise<{ socket: FakeSocket; connection: SignallingConnection; reply: ResponseMessage }> {
	const { socket, connection } = fakeConnection(server, ip);
	const withToken = token ? { token } : {};
	const caps = await socket.reply(socket.deliver('getRouterRtpCapabilities', { roomId, ...withToken }));
	if (!caps.ok) return { socket, connection, reply: caps };
	const { rtpCapabilities } = caps.data as { rtpCapabilities: Record<string, unknown> };
	const reply = await socket.reply(socket.deliver('join', { roomId, displayName, rtpCapabilities, ...withToken }));
	return { socket, connection, reply };
}

/** As fakeJoin, and the join must succeed. */
export async function fakeJoined(server: { signalling: SignallingHub }, roomId: string, displayName: string): Promise<{ socket: FakeSocket; connection: SignallingConnection }> {
	const joined = await fakeJoin(server, roomId, displayName);
	if (!joined.reply.ok) throw new Error(`join failed: ${JSON.stringify(joined.reply)}`);
	return joined;
}
