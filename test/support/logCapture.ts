import { pino, type Logger } from 'pino';

export type LogLine = { level: number; msg: string; [key: string]: unknown };

/** A real pino logger whose JSON lines are kept for assertions (pino levels: 40 warn, 50 error). */
export function captureLogs(level: 'info' | 'warn' = 'warn'): { logger: Logger; lines: LogLine[]; find(msg: string): LogLine[] } {
	const lines: LogLine[] = [];
	const logger = pino({ level, base: { service: 'tureen' } }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
	return { logger, lines, find: (msg) => lines.filter((l) => l.msg === msg) };
}
