// Seeded random values of every JSON shape, and the strings and numbers that break parsers.
import { seededRandom } from '../random.ts';

export class Rng {
	readonly #next: () => number;

	constructor(seed: number) {
		this.#next = seededRandom(seed);
	}

	float(): number {
		return this.#next();
	}

	/** 0 <= n < max */
	int(max: number): number {
		return Math.floor(this.#next() * max);
	}

	range(min: number, max: number): number {
		return min + this.int(max - min + 1);
	}

	chance(p: number): boolean {
		return this.#next() < p;
	}

	pick<T>(items: readonly T[]): T {
		return items[this.int(items.length)]!;
	}

	/** Picks by weight: [[weight, value], ...]. */
	weighted<T>(entries: readonly (readonly [number, T])[]): T {
		const total = entries.reduce((n, [w]) => n + w, 0);
		let roll = this.float() * total;
		for (const [w, value] of entries) {
			roll -= w;
			if (roll < 0) return value;
		}
		return entries[entries.length - 1]![1];
	}
}

export const KEY_POOL = [
	'id', 'method', 'data', 'roomId', 'displayName', 'rtpCapabilities', 'token', 'direction', 'transportId',
	'dtlsParameters', 'kind', 'rtpParameters', 'appData', 'producerId', 'consumerId', 'ok', 'error', 'notification',
	'__proto__', 'constructor', 'prototype', 'toString', '', ' ', 'x'.repeat(300), '\u0000', 'ключ', '🔥',
];
export const WEIRD_STRINGS = [
	'', ' ', '\t\n', '\u0000', 'null', 'undefined', 'NaN', '-1', '0', '1e999', 'true', '{}', '[]', '"', '\\', '%00', '../..',
	'<script>alert(1)</script>', "'; DROP TABLE rooms; --", '\u202e\u0301', '\ud800', '\udfff', '🎥🎤', 'a'.repeat(64), 'a'.repeat(65),
	'${process.exit()}', '__proto__', 'constructor', 'send', 'recv', 'audio', 'video', 'data',
];
export const WEIRD_NUMBERS = [
	0, -0, 1, -1, 0.5, -0.5, 1.5, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308,
	-1e308, 5e-324, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 65536, 4294967296,
];

export function randomString(rng: Rng, maxLength = 40): string {
	switch (rng.int(5)) {
		case 0:
			return rng.pick(WEIRD_STRINGS);
		case 1: {
			let s = '';
			const n = rng.int(maxLength + 1);
			for (let i = 0; i < n; i++) s += String.fromCharCode(32 + rng.int(95));
			return s;
		}
		case 2: {
			let s = '';
			const n = rng.int(Math.min(maxLength, 20) + 1);
			for (let i = 0; i < n; i++) s += String.fromCodePoint(rng.pick([rng.int(0x20), 0x80 + rng.int(0x780), 0x4e00 + rng.int(0x5000), 0x1f300 + rng.int(0x300), 0xd800 + rng.int(0x800)]));
			return s;
		}
		case 3:
			return rng.pick(['x', 'ab', '0123456789abcdef']).repeat(rng.range(1, 200));
		default:
			return `${rng.pick(['room', 'fuzz', 'peer', 't', 'p'])}-${rng.int(100)}`;
	}
}

/** A random id shaped like mediasoup's (a UUID), from the seeded PRNG. */
export function uuidLike(rng: Rng): string {
	const hex = (n: number) => Array.from({ length: n }, () => rng.int(16).toString(16)).join('');
	return `${hex(8)}-${hex(4)}-4${hex(3)}-${rng.pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
}

export function randomNumber(rng: Rng): number {
	switch (rng.int(3)) {
		case 0:
			return rng.pick(WEIRD_NUMBERS);
		case 1:
			return rng.int(1000);
		default:
			return (rng.float() - 0.5) * 10 ** rng.int(20);
	}
}

export function randomValue(rng: Rng, depth = 0): unknown {
	const leafOnly = depth >= 4;
	const kind = rng.weighted<string>([
		[2, 'null'],
		[2, 'bool'],
		[4, 'number'],
		[5, 'string'],
		[leafOnly ? 0 : 3, 'array'],
		[leafOnly ? 0 : 4, 'object'],
	]);
	switch (kind) {
		case 'null':
			return null;
		case 'bool':
			return rng.chance(0.5);
		case 'number':
			return randomNumber(rng);
		case 'string':
			return randomString(rng);
		case 'array':
			return Array.from({ length: rng.int(6) }, () => randomValue(rng, depth + 1));
		default: {
			const object: Record<string, unknown> = {};
			const n = rng.int(6);
			for (let i = 0; i < n; i++) {
				const key = rng.chance(0.7) ? rng.pick(KEY_POOL) : randomString(rng, 12);
				// Own data properties, as JSON.parse makes them (even for "__proto__").
				Object.defineProperty(object, key, { value: randomValue(rng, depth + 1), enumerable: true, writable: true, configurable: true });
			}
			return object;
		}
	}
}

/** A value of another JSON type than `value`. */
export function retype(rng: Rng, value: unknown): unknown {
	const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
	const candidates: unknown[] = [null, true, 0, -1, 1.5, '', 'str', [], [value], {}, { value }].filter((c) => {
		const t = c === null ? 'null' : Array.isArray(c) ? 'array' : typeof c;
		return t !== type;
	});
	return rng.pick(candidates);
}

export function deepNesting(rng: Rng, levels: number): string {
	if (rng.chance(0.5)) return `${'['.repeat(levels)}${rng.pick(['1', '"x"', 'null', ''])}${']'.repeat(levels)}`;
	return `${'{"a":'.repeat(levels)}${rng.pick(['1', '{}', '"x"'])}${'}'.repeat(levels)}`;
}
