// Types for build-check.js (plain JavaScript: it runs before any build exists).
export function buildProblem(file: string, base?: string): string | undefined;
export function compiled(file: string): string;
