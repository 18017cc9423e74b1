// CRC32C (Castagnoli), the checksum on every log record. Slicing-by-8 tables: eight bytes per
// step, several times faster than the byte-at-a-time loop, with no native module.

const T = (() => {
  const t = new Uint32Array(8 * 256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1
    t[i] = c >>> 0
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i] as number
    for (let s = 1; s < 8; s++) {
      c = (t[c & 0xff] as number) ^ (c >>> 8)
      t[s * 256 + i] = c >>> 0
    }
  }
  return t
})()

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** CRC32C of `bytes[start, end)`, continuing from `crc` (0 for a fresh checksum). */
export function crc32c(bytes: Uint8Array, start = 0, end = bytes.length, crc = 0): number {
  let c = ~crc >>> 0
  let i = start
  const t = T
  if (LITTLE_ENDIAN && end - start >= 64 && (bytes.byteOffset + start) % 4 === 0) {
    // Aligned: two 32-bit loads per 8 bytes instead of eight byte loads.
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset + start, (end - start) >>> 2)
    const n = words.length & ~1
    for (let w = 0; w < n; w += 2) {
      const a = (c ^ (words[w] as number)) >>> 0
      const b = words[w + 1] as number
      c =
        (t[1792 + (a & 0xff)] as number) ^
        (t[1536 + ((a >>> 8) & 0xff)] as number) ^
        (t[1280 + ((a >>> 16) & 0xff)] as number) ^
        (t[1024 + (a >>> 24)] as number) ^
        (t[768 + (b & 0xff)] as number) ^
        (t[512 + ((b >>> 8) & 0xff)] as number) ^
        (t[256 + ((b >>> 16) & 0xff)] as number) ^
        (t[b >>> 24] as number)
    }
    i = start + n * 4
  }
  for (; i + 8 <= end; i += 8) {
    const a = (c ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24))) >>> 0
    c =
      (t[1792 + (a & 0xff)] as number) ^
      (t[1536 + ((a >>> 8) & 0xff)] as number) ^
      (t[1280 + ((a >>> 16) & 0xff)] as number) ^
      (t[1024 + (a >>> 24)] as number) ^
      (t[768 + (bytes[i + 4] as number)] as number) ^
      (t[512 + (bytes[i + 5] as number)] as number) ^
      (t[256 + (bytes[i + 6] as number)] as number) ^
      (t[bytes[i + 7] as number] as number)
  }
  for (; i < end; i++) c = (t[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8)
  return ~c >>> 0
}
