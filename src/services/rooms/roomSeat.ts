import type { RoomRouter } from './roomRouter.ts';

/** A place kept on one of the room's routers for a joining peer; released if the join fails. */
export class RoomSeat<Member> {
	#held = true;

	constructor(readonly router: RoomRouter<Member>, readonly release: () => void) {}

	/** Turns the reservation into membership (once). */
	claim(): RoomRouter<Member> {
		if (this.#held) {
			this.#held = false;
			this.router.releaseReservation();
		}
		return this.router;
	}

	get held(): boolean {
		return this.#held;
	}
}
