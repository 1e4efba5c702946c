// HTTP/2 frame constants and encoders (RFC 9113 §4, §6, §7). Pure: no sockets, no state.

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

/** Error codes (RFC 9113 §7). */
export const H2Error = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME_HEADER = 9;
export const DEFAULT_WINDOW = 65_535;
export const DEFAULT_MAX_FRAME = 16_384;
export const MAX_WINDOW = 0x7fff_ffff;
export const MAX_STREAM_ID = 0x7fff_ffff;

/** Writes the 9-byte header of a frame whose payload is `length` bytes at the start of `b`. */
export function writeFrameHeader(b: Buffer, length: number, type: number, flags: number, stream: number): Buffer {
  b[0] = length >>> 16;
  b[1] = (length >>> 8) & 0xff;
  b[2] = length & 0xff;
  b[3] = type;
  b[4] = flags;
  b.writeUInt32BE(stream, 5);
  return b;
}

/** The 9-byte frame header for a payload of `length` bytes, followed by `room` bytes left for the caller to fill. */
export function frameHeader(length: number, type: number, flags: number, stream: number, room = 0): Buffer {
  return writeFrameHeader(Buffer.allocUnsafe(FRAME_HEADER + room), length, type, flags, stream);
}

/** A whole frame: header and payload in one buffer. */
export function frame(type: number, flags: number, stream: number, payload?: Buffer): Buffer {
  const length = payload ? payload.length : 0;
  const b = frameHeader(length, type, flags, stream, length);
  if (payload) payload.copy(b, FRAME_HEADER);
  return b;
}

export function rstStream(stream: number, code: number): Buffer {
  const b = frameHeader(4, FrameType.RST_STREAM, 0, stream, 4);
  b.writeUInt32BE(code, FRAME_HEADER);
  return b;
}

export function windowUpdate(stream: number, increment: number): Buffer {
  const b = frameHeader(4, FrameType.WINDOW_UPDATE, 0, stream, 4);
  b.writeUInt32BE(increment, FRAME_HEADER);
  return b;
}

export function goaway(lastStream: number, code: number, debug = ''): Buffer {
  const p = Buffer.allocUnsafe(8 + Buffer.byteLength(debug));
  p.writeUInt32BE(lastStream, 0);
  p.writeUInt32BE(code, 4);
  p.write(debug, 8, 'utf8');
  return frame(FrameType.GOAWAY, 0, 0, p);
}

export function settings(values: ReadonlyArray<readonly [number, number]>): Buffer {
  const p = Buffer.allocUnsafe(values.length * 6);
  values.forEach(([id, v], i) => {
    p.writeUInt16BE(id, i * 6);
    p.writeUInt32BE(v, i * 6 + 2);
  });
  return frame(FrameType.SETTINGS, 0, 0, p);
}

export const SETTINGS_ACK = frame(FrameType.SETTINGS, Flag.ACK, 0);
