import { fullLevel, take, type Bucket, type Level } from './tokenBucket.ts';

/**
 * A peer's data channel budget, applied to each message before the server
 * forwards it: one bucket of messages and one of bytes, each holding one
 * second of its rate (the bytes bucket at least one largest message, so every
 * allowed message can pass). Over any window of t seconds a peer's messages
 * reach the others at most rate * t + one bucket.
 */
export type DataBudgetLimits = { messagesPerSecond: number; bytesPerSecond: number; maxMessageBytes: number };
export type DataBuckets = { messages: Bucket; bytes: Bucket };
export type DataLevels = { messages: Level; bytes: Level };

/** The seconds of rate a bucket holds: the burst a quiet peer may send at once. */
export const DATA_BUCKET_SECONDS = 1;

export function dataBuckets(limits: DataBudgetLimits): DataBuckets {
	return {
		messages: { capacity: limits.messagesPerSecond * DATA_BUCKET_SECONDS, perSecond: limits.messagesPerSecond },
		bytes: { capacity: Math.max(limits.bytesPerSecond * DATA_BUCKET_SECONDS, limits.maxMessageBytes), perSecond: limits.bytesPerSecond },
	};
}

export function fullDataLevels(buckets: DataBuckets, now: number): DataLevels {
	return { messages: fullLevel(buckets.messages, now), bytes: fullLevel(buckets.bytes, now) };
}

/** Admits one message of `bytes` (counted as at least 1, so empty messages cost too) or refuses it whole. */
export function admitMessage(buckets: DataBuckets, levels: DataLevels, bytes: number, now: number): { admitted: boolean; levels: DataLevels } {
	return take(buckets, levels, { messages: 1, bytes: Math.max(1, bytes) }, now);
}
