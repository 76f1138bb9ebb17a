import { writeFileSync } from 'node:fs';

const SAMPLE_RATE = 48_000;

/**
 * A 16-bit mono PCM WAV file for Chromium's fake microphone
 * (`--use-file-for-fake-audio-capture`, which loops it). With `toneHz` it
 * is a sine tone switched on and off four times a second, like syllables:
 * Chromium's noise suppression would fade a steady tone out, an interrupted
 * one stays speech-like. Without `toneHz` it is silence.
 */
export function writeWav(path: string, { seconds, toneHz }: { seconds: number; toneHz?: number }): void {
	const samples = Math.round(seconds * SAMPLE_RATE);
	const data = Buffer.alloc(samples * 2);
	if (toneHz !== undefined) {
		for (let i = 0; i < samples; i++) {
			const t = i / SAMPLE_RATE;
			const voiced = Math.floor(t * 8) % 2 === 0;
			const value = voiced ? 0.6 * Math.sin(2 * Math.PI * toneHz * t) : 0;
			data.writeInt16LE(Math.round(value * 32767), i * 2);
		}
	}
	const header = Buffer.alloc(44);
	header.write('RIFF', 0, 'ascii');
	header.writeUInt32LE(36 + data.length, 4);
	header.write('WAVE', 8, 'ascii');
	header.write('fmt ', 12, 'ascii');
	header.writeUInt32LE(16, 16); // fmt chunk size
	header.writeUInt16LE(1, 20); // PCM
	header.writeUInt16LE(1, 22); // mono
	header.writeUInt32LE(SAMPLE_RATE, 24);
	header.writeUInt32LE(SAMPLE_RATE * 2, 28); // bytes per second
	header.writeUInt16LE(2, 32); // bytes per frame
	header.writeUInt16LE(16, 34); // bits per sample
	header.write('data', 36, 'ascii');
	header.writeUInt32LE(data.length, 40);
	writeFileSync(path, Buffer.concat([header, data]));
}
