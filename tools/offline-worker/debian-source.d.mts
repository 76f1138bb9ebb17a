// Types for debian-source.mjs (plain JS so it runs before `npm ci`), for the tests.
export function debSrcEntries(files: { name: string; text: string }[]): { sources: string; list: string };
export function unpackDebianSource(args: { name: string; version: string; target: string }): string;
