import { writeFile } from "node:fs/promises";

/** An encoded screenshot (PNG by default) with helpers. */
export class Screenshot {
  /** The encoded image. */
  readonly data: Buffer;
  /** `image/png` or `image/jpeg`. */
  readonly mediaType: string;

  constructor(data: Uint8Array, mediaType = "image/png") {
    this.data = Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.mediaType = mediaType;
  }

  /** The encoded size in bytes. */
  get size(): number {
    return this.data.length;
  }

  /** Width and height read from the PNG or JPEG header. */
  get dimensions(): { width: number; height: number } | null {
    const d = this.data;
    if (d.length >= 24 && d.readUInt32BE(0) === 0x89504e47) {
      return { width: d.readUInt32BE(16), height: d.readUInt32BE(20) };
    }
    if (d.length > 4 && d[0] === 0xff && d[1] === 0xd8) {
      let i = 2;
      while (i + 9 < d.length) {
        if (d[i] !== 0xff) return null;
        const marker = d[i + 1]!;
        const length = d.readUInt16BE(i + 2);
        if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
          return { width: d.readUInt16BE(i + 7), height: d.readUInt16BE(i + 5) };
        }
        i += 2 + length;
      }
    }
    return null;
  }

  /** Writes the image to a local file. */
  async save(path: string): Promise<void> {
    await writeFile(path, this.data);
  }

  /** The image as base64. */
  toBase64(): string {
    return this.data.toString("base64");
  }

  /** The image as a `data:` URL. */
  toDataUrl(): string {
    return `data:${this.mediaType};base64,${this.toBase64()}`;
  }
}
