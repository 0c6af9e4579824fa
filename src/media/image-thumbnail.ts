import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type SharpFactory from 'sharp';

// Image thumbnails by sharp (libvips, prebuilt from the npm registry): a JPEG at most `width`
// pixels wide, turned upright by its EXIF orientation. libvips streams and shrinks while it
// decodes, so a 50-megapixel photo costs a fraction of its decoded size; inputs over
// MAX_PIXELS are refused rather than decoded. Loaded on first use: without a sharp build for
// the platform, ffmpeg makes image thumbnails as it makes video ones.

/** Refused above this many pixels (a decompression bomb, not a photo). */
const MAX_PIXELS = 150_000_000;

export type Sharp = typeof SharpFactory;

let loaded: Promise<Sharp | null> | null = null;

/** sharp, or null when it cannot be loaded on this platform. */
export function loadSharp(): Promise<Sharp | null> {
  loaded ??= import('sharp').then(
    (module) => {
      const sharp = module.default;
      // Thumbnails are made once per content and cached on disk: libvips' own cache would only hold memory.
      sharp.cache(false);
      return sharp;
    },
    () => null,
  );
  return loaded;
}

/** Writes a JPEG thumbnail of the image read from `input` to `out`. */
export async function imageThumbnail(sharp: Sharp, input: Readable, out: string, width: number): Promise<void> {
  const transform = sharp({ limitInputPixels: MAX_PIXELS, sequentialRead: true }).rotate().resize({ width, withoutEnlargement: true }).jpeg({ quality: 75 });
  await Promise.all([pipeline(input, transform), transform.toFile(out)]);
}
