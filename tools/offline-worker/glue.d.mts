// Types for glue.mjs (plain JS so it runs before `npm ci`), for the tests.
export type Wrap = { file: string; name: string; directory: string; provides: string[]; variables: Record<string, string>; overridden: string[] };
export type GluePlan = { use: { glue: string; wrap: Wrap }[]; unusedGlue: string[]; notNeeded: string[] };
export function parseWrap(fileName: string, text: string): Wrap;
export function matchGlue(wrap: Wrap, glueNames: string[]): string | undefined;
export function optionDefaults(optionsText: string): Record<string, boolean>;
export function mesonReferences(mesonText: string, optionsText?: string, system?: string): { subprojects: Record<string, Set<string>>; dependencies: Set<string> };
export function planGlue(args: { version: string; wraps: { file: string; text: string }[]; glue: Record<string, string>; mesonText: string; optionsText: string }): GluePlan;
export function planFor(workerDir: string, glueDir: string, version: string): GluePlan;
export function gluePackages(glueDir: string, plan: GluePlan): string[];
export function placeGlue(workerDir: string, glueDir: string, plan: GluePlan): void;
