/**
 * Writes a file so that readers see the old content or the new, never half of it: a temporary
 * file in the same folder, then rename (atomic on one filesystem). The model pointer, artifacts,
 * datasets and mail files all rely on it, because other processes poll or read them meanwhile.
 */
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export function temporaryPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
}

export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = temporaryPathFor(file);
  try {
    await writeFile(tmp, content);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

