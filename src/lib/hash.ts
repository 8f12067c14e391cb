/** FNV-1a, 32 bits: a stable, fast hash of a short string (fold assignment, advisory-lock keys). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
