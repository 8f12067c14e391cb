/**
 * UTF-8 checks for message values and keys. Buffer#toString("utf8") silently turns invalid bytes
 * into U+FFFD, so two different binary keys or ids would become the same text; the contract
 * refuses them instead, and says where the first bad byte is (never what it is).
 */
import { isUtf8 } from "node:buffer";

/** Byte offset of the first byte that is not part of well-formed UTF-8, or -1 if all are. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  // Slow path, taken only for bad input: the well-formed sequences of the Unicode standard
  // (table 3-7), which also rule out overlong forms (C0 80 for NUL), surrogates (ED A0 80) and
  // code points above U+10FFFF.
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b === 0xe0) [need, lo] = [2, 0xa0];
    else if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) need = 2;
    else if (b === 0xed) [need, hi] = [2, 0x9f];
    else if (b === 0xf0) [need, lo] = [3, 0x90];
    else if (b >= 0xf1 && b <= 0xf3) need = 3;
    else if (b === 0xf4) [need, hi] = [3, 0x8f];
    else return i;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      const min = k === 1 ? lo : 0x80;
      const max = k === 1 ? hi : 0xbf;
      if (c === undefined || c < min || c > max) return i;
    }
    i += need + 1;
  }
  return -1; // not reached when isUtf8 said no; kept total for callers
}
