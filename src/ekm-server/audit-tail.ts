// `openekm ekm audit tail`: the last lines of DATA_DIR/audit.log, and with
// --follow the lines appended after them. Reads the file directly (it is the
// operator's own file), so it works whether or not the server runs.
import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const CHUNK = 64 * 1024;

/** The last n complete lines of a file and the offset just past them. */
export async function lastLines(file: string, n: number): Promise<{ lines: string[]; end: number }> {
  const handle = await open(file, 'r');
  try {
    const size = (await handle.stat()).size;
    let start = size;
    let text = '';
    while (start > 0 && text.split('\n').length <= n + 1) {
      const length = Math.min(CHUNK, start);
      start -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, start);
      text = buffer.toString('utf8') + text;
    }
    // A line cut at the chunk boundary would be partial; drop it unless the file starts there.
    const lines = text.split('\n').slice(start > 0 ? 1 : 0);
    const lastNewline = text.lastIndexOf('\n');
    const complete = lastNewline < 0 ? [] : lines.slice(0, lines.length - 1);
    return { lines: complete.slice(Math.max(0, complete.length - n)), end: start + Buffer.byteLength(text.slice(0, lastNewline + 1), 'utf8') };
  } finally {
    await handle.close();
  }
}

/** Prints new complete lines as they are appended, until signal aborts. */
export async function follow(file: string, from: number, write: (line: string) => void, signal: AbortSignal, pollMs = 250): Promise<void> {
  let offset = from;
  let pending = '';
  while (!signal.aborted) {
    const size = (await stat(file)).size;
    if (size > offset) {
      const handle = await open(file, 'r');
      try {
        const buffer = Buffer.alloc(size - offset);
        await handle.read(buffer, 0, buffer.length, offset);
        offset = size;
        const parts = (pending + buffer.toString('utf8')).split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) write(line);
      } finally {
        await handle.close();
      }
    }
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
}
