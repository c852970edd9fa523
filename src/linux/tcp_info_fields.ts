// deno-fmt-ignore-file: tables kept compact on purpose
/**
 * The layout of the kernel's `struct tcp_info` (linux/tcp.h): each field's
 * byte offset and width, in kernel order. The kernel may return fewer bytes
 * (older kernels) or more (newer ones); only fields inside the returned
 * length are exposed.
 *
 * @module
 */

/** A field: name (without the `tcpi_` prefix), byte offset, width in bytes, or a 4-bit half of byte 6. */
export type FieldSpec = readonly [name: string, offset: number, width: 1 | 2 | 4 | 8 | "lo4" | "hi4"];

/** Every named field, in kernel order. */
export const TCP_INFO_FIELDS = [
  ["state", 0, 1], ["ca_state", 1, 1], ["retransmits", 2, 1], ["probes", 3, 1],
  ["backoff", 4, 1], ["options", 5, 1], ["snd_wscale", 6, "lo4"], ["rcv_wscale", 6, "hi4"],
  ["rto", 8, 4], ["ato", 12, 4], ["snd_mss", 16, 4], ["rcv_mss", 20, 4],
  ["unacked", 24, 4], ["sacked", 28, 4], ["lost", 32, 4], ["retrans", 36, 4], ["fackets", 40, 4],
  ["last_data_sent", 44, 4], ["last_ack_sent", 48, 4], ["last_data_recv", 52, 4], ["last_ack_recv", 56, 4],
  ["pmtu", 60, 4], ["rcv_ssthresh", 64, 4], ["rtt", 68, 4], ["rttvar", 72, 4],
  ["snd_ssthresh", 76, 4], ["snd_cwnd", 80, 4], ["advmss", 84, 4], ["reordering", 88, 4],
  ["rcv_rtt", 92, 4], ["rcv_space", 96, 4], ["total_retrans", 100, 4],
  ["pacing_rate", 104, 8], ["max_pacing_rate", 112, 8], ["bytes_acked", 120, 8], ["bytes_received", 128, 8],
  ["segs_out", 136, 4], ["segs_in", 140, 4], ["notsent_bytes", 144, 4], ["min_rtt", 148, 4],
  ["data_segs_in", 152, 4], ["data_segs_out", 156, 4], ["delivery_rate", 160, 8],
  ["busy_time", 168, 8], ["rwnd_limited", 176, 8], ["sndbuf_limited", 184, 8],
  ["delivered", 192, 4], ["delivered_ce", 196, 4], ["bytes_sent", 200, 8], ["bytes_retrans", 208, 8],
  ["dsack_dups", 216, 4], ["reord_seen", 220, 4], ["rcv_ooopack", 224, 4], ["snd_wnd", 228, 4],
  ["rcv_wnd", 232, 4], ["rehash", 236, 4], ["total_rto", 240, 2], ["total_rto_recoveries", 242, 2],
  ["total_rto_time", 244, 4],
] as const satisfies readonly FieldSpec[];

/** A field name of `struct tcp_info`. */
export type TcpInfoField = (typeof TCP_INFO_FIELDS)[number][0];

/** Bytes covered by the named fields; bytes beyond are available raw. */
export const NAMED_BYTES = 248;

/** Reads one field from the kernel's bytes (64-bit fields as numbers: exact below 2^53). */
export function readField(view: DataView, [, offset, width]: FieldSpec): number {
  switch (width) {
    case 1: return view.getUint8(offset);
    case 2: return view.getUint16(offset, true);
    case 4: return view.getUint32(offset, true);
    case 8: return Number(view.getBigUint64(offset, true));
    case "lo4": return view.getUint8(offset) & 0xf;
    case "hi4": return view.getUint8(offset) >> 4;
  }
}

/** Field specs by name. */
const FIELD_BY_NAME: ReadonlyMap<string, FieldSpec> = new Map(TCP_INFO_FIELDS.map((f) => [f[0], f]));

/**
 * One field of the kernel's tcp_info bytes, or undefined when they are too
 * short to hold it (an older kernel). RangeError for an unknown name.
 *
 * @example
 * ```ts
 * tcpInfoField(new Uint8Array(248), "last_data_recv"); // 0
 * ```
 */
export function tcpInfoField(info: Uint8Array, field: TcpInfoField): number | undefined {
  const spec = FIELD_BY_NAME.get(field);
  if (!spec) throw new RangeError(`unknown tcp_info field ${String(field)}`);
  if (fieldEnd(spec) > info.length) return undefined;
  return readField(new DataView(info.buffer, info.byteOffset, info.byteLength), spec);
}

/** End offset of a field. */
export function fieldEnd([, offset, width]: FieldSpec): number {
  return offset + (typeof width === "number" ? width : 1);
}

/** TCP states by name, as numbered by the kernel (include/net/tcp_states.h). */
export const TCP_STATES: Readonly<{
  ESTABLISHED: 1; SYN_SENT: 2; SYN_RECV: 3; FIN_WAIT1: 4; FIN_WAIT2: 5; TIME_WAIT: 6;
  CLOSE: 7; CLOSE_WAIT: 8; LAST_ACK: 9; LISTEN: 10; CLOSING: 11;
}> = Object.freeze({
  ESTABLISHED: 1, SYN_SENT: 2, SYN_RECV: 3, FIN_WAIT1: 4, FIN_WAIT2: 5, TIME_WAIT: 6,
  CLOSE: 7, CLOSE_WAIT: 8, LAST_ACK: 9, LISTEN: 10, CLOSING: 11,
} as const);
