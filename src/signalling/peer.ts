import { randomUUID } from 'node:crypto';

import type { types as ms } from 'mediasoup';

import { TureenError } from '../errors.ts';
import type { NotificationName, Notifications, ProducerInfo } from '../protocol/messages.ts';
import type { Room, RoomMember } from '../services/room.ts';

export type PeerRoom = Room<Peer>;

/**
 * One signalling connection's participant: its room membership and the
 * mediasoup objects it owns. A peer may act only on what is in its own maps.
 */
export class Peer implements RoomMember {
	readonly peerId = randomUUID();
	displayName = '';
	rtpCapabilities: ms.RtpCapabilities | undefined;
	readonly transports = new Map<string, ms.WebRtcTransport>();
	readonly producers = new Map<string, ms.Producer>();
	readonly consumers = new Map<string, ms.Consumer>();
	readonly #send: (name: NotificationName, data: unknown) => void;
	#room: PeerRoom | undefined;
	readonly #onRoomMoved = (_from: number, to: number, reason: string) => {
		// The old router took every transport, producer and consumer with it.
		this.#forgetMedia();
		this.notify('roomMoved', { workerId: to, reason });
	};

	constructor(send: (name: NotificationName, data: unknown) => void) {
		this.#send = send;
	}

	get room(): PeerRoom | undefined {
		return this.#room;
	}

	requireRoom(): PeerRoom {
		if (!this.#room || this.#room.closed) throw new TureenError('NOT_JOINED', 'join a room first');
		return this.#room;
	}

	notify<N extends NotificationName>(name: N, data: Notifications[N]): void {
		this.#send(name, data);
	}

	/** Tells every other member of the room. */
	broadcast<N extends NotificationName>(name: N, data: Notifications[N]): void {
		for (const other of this.#room?.members.values() ?? []) {
			if (other !== this) other.notify(name, data);
		}
	}

	enter(room: PeerRoom): void {
		this.#room = room;
		room.members.set(this.peerId, this);
		room.on('moved', this.#onRoomMoved);
	}

	/** Leaves the room (if any), closing everything this peer owns and telling the others. */
	leave(): PeerRoom | undefined {
		const room = this.#room;
		if (!room) return undefined;
		this.#closeMedia();
		room.off('moved', this.#onRoomMoved);
		room.members.delete(this.peerId);
		this.#room = undefined;
		if (!room.closed) {
			for (const other of room.members.values()) other.notify('peerLeft', { peerId: this.peerId });
		}
		return room;
	}

	/** The room closed under this peer (deleted, idle, shutdown). */
	close(reason: string): void {
		const room = this.#room;
		if (!room) return;
		this.#closeMedia();
		room.off('moved', this.#onRoomMoved);
		this.#room = undefined;
		this.notify('roomClosed', { reason });
	}

	ownTransport(transportId: string): ms.WebRtcTransport {
		const transport = this.transports.get(transportId);
		if (!transport) throw new TureenError('NOT_FOUND', `no transport ${transportId} of yours`);
		return transport;
	}

	ownProducer(producerId: string): ms.Producer {
		const producer = this.producers.get(producerId);
		if (!producer) throw new TureenError('NOT_FOUND', `no producer ${producerId} of yours`);
		return producer;
	}

	ownConsumer(consumerId: string): ms.Consumer {
		const consumer = this.consumers.get(consumerId);
		if (!consumer) throw new TureenError('NOT_FOUND', `no consumer ${consumerId} of yours`);
		return consumer;
	}

	producerInfos(): ProducerInfo[] {
		return [...this.producers.values()].map((p) => ({
			producerId: p.id,
			peerId: this.peerId,
			kind: p.kind,
			paused: p.paused,
		}));
	}

	#closeMedia(): void {
		// Closing a transport closes its producers and consumers too; the
		// 'transportclose' handlers of those tell the other peers.
		for (const transport of this.transports.values()) transport.close();
		this.#forgetMedia();
	}

	#forgetMedia(): void {
		this.transports.clear();
		this.producers.clear();
		this.consumers.clear();
	}
}
