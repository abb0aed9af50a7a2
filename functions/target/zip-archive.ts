import { crc32, deflateRawSync } from 'node:zlib';

/** One file of a {@link createZipArchive} archive. */
export interface ZipArchiveEntry {
  /** Path inside the archive, `/`-separated, without a leading slash. */
  readonly name: string;
  readonly data: string | Uint8Array;
  /** Unix permission bits (default `0o644`: Lambda needs its code files world-readable). */
  readonly mode?: number;
}

/** The archive cannot be written in the plain (non-ZIP64) format this writer produces. */
export class ZipArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipArchiveError';
  }
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
/** Version 2.0: deflate. */
const VERSION_NEEDED = 20;
/** Made by Unix (high byte 3), so readers take the permission bits from the external attributes. */
const VERSION_MADE_BY = (3 << 8) | VERSION_NEEDED;
/** General purpose flag bit 11: names are UTF-8. */
const UTF8_NAMES = 0x0800;
const DEFLATE = 8;
/** 1980-01-01 00:00:00, the earliest DOS date: a fixed time keeps the archive's bytes stable. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const REGULAR_FILE = 0o100000;
const MAX_32 = 0xffffffff;

/**
 * Writes a ZIP archive in memory: every entry deflated, with a fixed timestamp and fixed
 * attributes, so the same entries always give the same bytes (and the same SHA-256, which is how
 * Lambda's `CodeSha256` identifies a deployment package). No ZIP64: an archive or an entry past
 * 4 GiB, or more than 65,535 entries, is refused, far beyond Lambda's 50 MB direct upload limit.
 *
 * @example
 * ```ts
 * const zip = createZipArchive([{ name: 'index.mjs', data: release.bundle }]);
 * ```
 */
export function createZipArchive(entries: readonly ZipArchiveEntry[]): Buffer {
  if (entries.length > 0xffff) throw new ZipArchiveError('more than 65,535 entries');
  const names = new Set<string>();
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;

  for (const entry of entries) {
    const name = Buffer.from(checkedName(entry.name, names), 'utf8');
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : entry.data;
    const compressed = deflateRawSync(data, { level: 9 });
    if (data.byteLength > MAX_32 || compressed.byteLength > MAX_32 || offset > MAX_32) {
      throw new ZipArchiveError(`${entry.name} does not fit a non-ZIP64 archive`);
    }
    const checksum = crc32(data);
    const mode = (REGULAR_FILE | ((entry.mode ?? 0o644) & 0o7777)) >>> 0;

    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_HEADER, 0);
    local.writeUInt16LE(VERSION_NEEDED, 4);
    local.writeUInt16LE(UTF8_NAMES, 6);
    local.writeUInt16LE(DEFLATE, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(checksum, 14);
    local.writeUInt32LE(compressed.byteLength, 18);
    local.writeUInt32LE(data.byteLength, 22);
    local.writeUInt16LE(name.byteLength, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, compressed);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(CENTRAL_HEADER, 0);
    central.writeUInt16LE(VERSION_MADE_BY, 4);
    central.writeUInt16LE(VERSION_NEEDED, 6);
    central.writeUInt16LE(UTF8_NAMES, 8);
    central.writeUInt16LE(DEFLATE, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(checksum, 16);
    central.writeUInt32LE(compressed.byteLength, 20);
    central.writeUInt32LE(data.byteLength, 24);
    central.writeUInt16LE(name.byteLength, 28);
    // Extra field length, comment length, disk number start, internal attributes: all zero.
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);

    offset += local.byteLength + name.byteLength + compressed.byteLength;
  }

  const directory = Buffer.concat(centrals);
  if (offset > MAX_32 || directory.byteLength > MAX_32) {
    throw new ZipArchiveError('the archive does not fit a non-ZIP64 archive');
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  // Disk numbers stay zero: one disk.
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.byteLength, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

function checkedName(name: string, seen: Set<string>): string {
  if (
    name === '' ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.split('/').some((part) => part === '' || part === '.' || part === '..')
  ) {
    throw new ZipArchiveError(`invalid entry name ${JSON.stringify(name)}`);
  }
  if (seen.has(name)) throw new ZipArchiveError(`duplicate entry ${name}`);
  seen.add(name);
  return name;
}
