import sharp from 'sharp';

/** Largest screenshot decoded, in pixels (a 4K tablet has ~8.3 million). */
export const MAX_SCREENSHOT_PIXELS = 40_000_000;

/** A screenshot that cannot be hashed: not PNG or JPEG, corrupt, or too large. */
export class ScreenshotError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScreenshotError';
  }
}

const isPng = (image: Uint8Array) => image[0] === 0x89 && image[1] === 0x50 && image[2] === 0x4e && image[3] === 0x47;
const isJpeg = (image: Uint8Array) => image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff;

/**
 * The 64-bit difference hash (dHash) of a PNG or JPEG screenshot, as 16 hex digits: the image
 * in grey, scaled down to 9×8, one bit per pair of horizontal neighbours (left brighter than
 * right). Near-identical pictures differ in few bits; it describes a screen, it does not
 * identify one (the layout hash does). Decoded by libvips (sharp), which shrinks while loading.
 */
export async function perceptualHash(image: Uint8Array): Promise<string> {
  if (!isPng(image) && !isJpeg(image)) throw new ScreenshotError('a screenshot must be PNG or JPEG');
  let grey: Buffer;
  try {
    grey = await sharp(image, { limitInputPixels: MAX_SCREENSHOT_PIXELS, failOn: 'error' })
      .greyscale()
      .resize(9, 8, { fit: 'fill' })
      .raw()
      .toBuffer();
  } catch (error) {
    throw new ScreenshotError(`unreadable screenshot: ${(error as Error).message}`);
  }
  let bits = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      bits = (bits << 1n) | ((grey[y * 9 + x] ?? 0) > (grey[y * 9 + x + 1] ?? 0) ? 1n : 0n);
    }
  }
  return bits.toString(16).padStart(16, '0');
}

/** Bits in which two hashes differ (0 to 64). */
export function hammingDistance(a: string, b: string): number {
  let diff = BigInt(`0x${a}`) ^ BigInt(`0x${b}`);
  let count = 0;
  while (diff > 0n) {
    count += Number(diff & 1n);
    diff >>= 1n;
  }
  return count;
}
