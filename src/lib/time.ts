/** Durations in milliseconds, the unit every instant in the worker is kept in (epoch ms). */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
