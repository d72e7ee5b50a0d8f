// Reading one HTTP/1.1 answer (RFC 9112) from an EKM, incrementally: the
// status line, the header fields, then a body framed by Content-Length, the
// chunked transfer coding, or the end of the connection. Interim (1xx)
// answers are skipped. Anything malformed is a protocol failure, after which
// the connection is dropped; nothing here guesses.
//
// The KMS only ever reads answers here (it never serves through this code),
// and it sends one request at a time per connection, so there is no
// pipelining and no request smuggling to guard against: a confused framing
// can at worst spoil this one answer, and every doubtful case drops the
// connection rather than reuse it.
import type { IncomingHttpHeaders } from 'node:http';
import { AttemptFailure } from './failure';

export interface Http1Answer {
  status: number;
  /** Lower-case names; repeated fields joined with ", " (set-cookie kept as a list), as node:http gives them. */
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** The header section's limit, as node:http's default. */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_LINE_BYTES = 1024;
const EMPTY = Buffer.alloc(0);
/** A step that needs more bytes: they are kept for the next push. */
const WAIT = -1;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
// chunk-size, then chunk-ext (RFC 9112 §7.1.1): *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,8})(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:[ \t]*=[ \t]*(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"))?)*[ \t]*$/;
/** A trailer field line: a token, a colon, a value without control characters. */
const FIELD_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*$/;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const LINE_END = Buffer.from('\r\n', 'latin1');

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close' | 'done';

export class AnswerParser {
  status = 0;
  headers: IncomingHttpHeaders = {};
  /** The connection may carry another request once this answer is done. */
  keepAlive = false;
  /** Bytes arrived past the end of the answer: the connection can't be trusted for another. */
  extra = false;
  /** Some byte of the answer has arrived. */
  started = false;
  #state: State = 'head';
  #rest: Buffer = EMPTY;
  #remaining = 0;
  #body: Buffer[] = [];
  #bodyBytes = 0;
  #trailerBytes = 0;

  constructor(
    /** The request was HEAD: the answer has no body whatever it says. */
    private readonly headRequest: boolean,
    private readonly maxBodyBytes: number,
    private readonly endpoint: string,
  ) {}

  get done(): boolean {
    return this.#state === 'done';
  }

  body(): Buffer {
    return this.#body.length === 1 ? this.#body[0] : Buffer.concat(this.#body, this.#bodyBytes);
  }

  /** Takes the next bytes of the connection; true once the answer is complete. Throws AttemptFailure. */
  push(chunk: Buffer): boolean {
    if (chunk.length === 0) return this.done;
    this.started = true;
    const data = this.#rest.length > 0 ? Buffer.concat([this.#rest, chunk]) : chunk;
    this.#rest = EMPTY;
    let at = 0;
    while (at < data.length) {
      if (this.#state === 'done') {
        this.extra = true;
        return true;
      }
      const next = this.#step(data, at);
      if (next === WAIT) return false;
      at = next;
    }
    return this.done;
  }

  /** One step of the answer from `at`: where the next one starts, or WAIT with the unread bytes kept. */
  #step(data: Buffer, at: number): number {
    switch (this.#state) {
      case 'head':
        return this.#head(data, at);
      case 'length':
      case 'chunk-data':
        return this.#framedBody(data, at);
      case 'close':
        this.#addBody(data.subarray(at));
        return data.length;
      case 'chunk-end':
        return this.#chunkEnd(data, at);
      default:
        return this.#line(data, at);
    }
  }

  #wait(data: Buffer, at: number): number {
    this.#rest = data.subarray(at);
    return WAIT;
  }

  #head(data: Buffer, at: number): number {
    const end = data.indexOf(HEAD_END, at);
    if (end < 0 || end - at > MAX_HEAD_BYTES) {
      if (data.length - at > MAX_HEAD_BYTES) throw this.#bad(`the header section is larger than ${MAX_HEAD_BYTES} bytes`);
      return this.#wait(data, at);
    }
    this.#readHead(data.toString('latin1', at, end));
    return end + HEAD_END.length;
  }

  /** Body bytes counted by Content-Length or by the current chunk's size. */
  #framedBody(data: Buffer, at: number): number {
    const take = Math.min(this.#remaining, data.length - at);
    this.#addBody(data.subarray(at, at + take));
    this.#remaining -= take;
    if (this.#remaining === 0) this.#state = this.#state === 'length' ? 'done' : 'chunk-end';
    return at + take;
  }

  #chunkEnd(data: Buffer, at: number): number {
    if (data.length - at < 2) return this.#wait(data, at);
    if (data[at] !== 0x0d || data[at + 1] !== 0x0a) throw this.#bad('a chunk does not end with CRLF');
    this.#state = 'chunk-size';
    return at + 2;
  }

  /** A chunk-size line, or a trailer line (an empty one ends the answer). */
  #line(data: Buffer, at: number): number {
    const eol = data.indexOf(LINE_END, at);
    if (eol < 0) {
      if (data.length - at > MAX_LINE_BYTES) throw this.#bad('a chunk-size or trailer line is too long');
      return this.#wait(data, at);
    }
    const line = data.toString('latin1', at, eol);
    if (this.#state === 'chunk-size') this.#chunkSize(line);
    else if (line === '') this.#state = 'done';
    else if ((this.#trailerBytes += line.length) > MAX_HEAD_BYTES) throw this.#bad('the trailer section is too large');
    else if (!FIELD_LINE.test(line)) throw this.#bad('a trailer field is malformed');
    return eol + 2;
  }

  /** The connection ended: true when that completes the answer (a body framed by the close); throws otherwise. */
  end(): boolean {
    if (this.#state === 'close') this.#state = 'done';
    if (this.done) return true;
    throw new AttemptFailure(
      'connection', this.endpoint, 'ECONNRESET',
      this.started ? 'the connection closed mid-answer' : 'the connection closed before an answer',
      this.status ? { httpStatus: this.status } : {},
    );
  }

  #readHead(text: string): void {
    const lines = text.split('\r\n');
    const status = STATUS_LINE.exec(lines[0]);
    if (!status) throw this.#bad('the answer is not HTTP/1.1');
    const code = Number(status[2]);
    const headers: IncomingHttpHeaders = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      // No name, a name that is not a token (this includes obs-fold: a line starting with whitespace), or control characters.
      if (!TOKEN.test(name)) throw this.#bad('a header field is malformed');
      const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
      if (BAD_VALUE.test(value)) throw this.#bad(`header field ${name} holds control characters`);
      const key = name.toLowerCase();
      if (key === 'set-cookie') {
        (headers['set-cookie'] ??= []).push(value);
      } else {
        const prior = headers[key] as string | undefined;
        headers[key] = prior === undefined ? value : `${prior}, ${value}`;
      }
    }
    if (code >= 100 && code < 200) {
      // 101 would switch protocols, which nothing here asked for; other interim answers are skipped.
      if (code === 101) throw this.#bad('the EKM switched protocols');
      return;
    }
    this.status = code;
    this.headers = headers;
    const connection = (headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim());
    this.keepAlive = status[1] === '1' ? !connection.includes('close') : connection.includes('keep-alive');
    if (this.headRequest || code === 204 || code === 304) {
      this.#state = 'done';
      return;
    }
    const te = headers['transfer-encoding'];
    if (te !== undefined) {
      const codings = te.toLowerCase().split(',').map((t) => t.trim());
      // Chunked last frames the body; any other last coding runs to the close (RFC 9112 §6.3).
      this.#state = codings[codings.length - 1] === 'chunked' ? 'chunk-size' : 'close';
      // Both framings at once is how smuggling starts: use this answer, never the connection again.
      if (headers['content-length'] !== undefined || this.#state === 'close') this.keepAlive = false;
      return;
    }
    const cl = headers['content-length'];
    if (cl !== undefined) {
      const values = new Set(cl.split(',').map((v) => v.trim()));
      const only = values.size === 1 ? [...values][0] : '';
      if (!/^\d{1,15}$/.test(only)) throw this.#bad('Content-Length is not one number');
      this.#remaining = Number(only);
      if (this.#remaining > this.maxBodyBytes) throw this.#tooLarge();
      this.#state = this.#remaining === 0 ? 'done' : 'length';
      return;
    }
    this.#state = 'close';
    this.keepAlive = false;
  }

  #chunkSize(line: string): void {
    const m = CHUNK_SIZE.exec(line);
    if (!m) throw this.#bad('a chunk size is malformed');
    const size = parseInt(m[1], 16);
    if (size === 0) {
      this.#state = 'trailers';
    } else {
      if (this.#bodyBytes + size > this.maxBodyBytes) throw this.#tooLarge();
      this.#remaining = size;
      this.#state = 'chunk-data';
    }
  }

  #addBody(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#bodyBytes += bytes.length;
    if (this.#bodyBytes > this.maxBodyBytes) throw this.#tooLarge();
    this.#body.push(bytes);
  }

  #bad(why: string): AttemptFailure {
    return new AttemptFailure('protocol', this.endpoint, 'EKM_BAD_HTTP', `the answer is not valid HTTP/1.1: ${why}`, this.status ? { httpStatus: this.status } : {});
  }

  #tooLarge(): AttemptFailure {
    return new AttemptFailure('protocol', this.endpoint, 'EKM_RESPONSE_TOO_LARGE', `the answer is larger than ${this.maxBodyBytes} bytes`, { httpStatus: this.status });
  }
}
