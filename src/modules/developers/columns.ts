/** How the developers repositories store lists: JSON text columns (`*_json`, see db/tables/foundation.ts). */
export const toJson = (value: readonly string[]): string => JSON.stringify(value);
export const parseList = (text: string): string[] => JSON.parse(text) as string[];
/** Booleans are integer 0/1 columns (`is_*`). */
export const toFlag = (value: boolean): number => (value ? 1 : 0);
export const fromFlag = (value: number | bigint): boolean => Number(value) === 1;
