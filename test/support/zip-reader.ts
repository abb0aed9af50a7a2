import { crc32, inflateRawSync } from 'node:zlib';

/** One file read back from a ZIP archive. */
export interface ZipFileEntry {
  readonly data: Buffer;
  /** Unix permission bits when the archive was made on Unix, else `undefined`. */
  readonly mode: number | undefined;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_HEADER = 0x02014b50;
const LOCAL_HEADER = 0x04034b50;

/**
 * Reads a ZIP archive the way an unzip tool does: from the central directory at its end, each
 * entry's local header, its stored or deflated data, checked against the CRC-32 and sizes the
 * directory records. Throws on anything malformed, so a server that calls it refuses a bad
 * package the way Lambda does.
 */
export function readZipArchive(zip: Buffer): Map<string, ZipFileEntry> {
  const end = findEndOfCentralDirectory(zip);
  const count = zip.readUInt16LE(end + 10);
  const size = zip.readUInt32LE(end + 12);
  let at = zip.readUInt32LE(end + 16);
  if (at + size > end) throw new Error('central directory overlaps its end record');

  const files = new Map<string, ZipFileEntry>();
  for (let index = 0; index < count; index += 1) {
    if (zip.readUInt32LE(at) !== CENTRAL_HEADER) throw new Error(`entry ${index}: bad header`);
    const madeBy = zip.readUInt16LE(at + 4) >> 8;
    const method = zip.readUInt16LE(at + 10);
    const checksum = zip.readUInt32LE(at + 16);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const external = zip.readUInt32LE(at + 38);
    const localAt = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;

    if (zip.readUInt32LE(localAt) !== LOCAL_HEADER) throw new Error(`${name}: bad local header`);
    const dataAt = localAt + 30 + zip.readUInt16LE(localAt + 26) + zip.readUInt16LE(localAt + 28);
    const raw = zip.subarray(dataAt, dataAt + compressedSize);
    if (raw.byteLength !== compressedSize) throw new Error(`${name}: truncated`);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw);
    else throw new Error(`${name}: unsupported compression method ${method}`);
    if (data.byteLength !== size) throw new Error(`${name}: size ${data.byteLength}, not ${size}`);
    if (crc32(data) !== checksum) throw new Error(`${name}: CRC-32 mismatch`);
    files.set(name, { data, mode: madeBy === 3 ? (external >>> 16) & 0o7777 : undefined });
  }
  return files;
}

function findEndOfCentralDirectory(zip: Buffer): number {
  // The end record is 22 bytes plus a comment of at most 65,535.
  for (let at = zip.byteLength - 22; at >= Math.max(0, zip.byteLength - 22 - 0xffff); at -= 1) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) return at;
  }
  throw new Error('not a ZIP archive: no end of central directory record');
}
