import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir, skipWithoutSharedData } from '@screengraph/testing';
import sharp from 'sharp';
import t from 'tap';
import { hammingDistance, perceptualHash, ScreenshotError } from '../../src/identity/perceptual-hash.js';

const noData = skipWithoutSharedData();
const screenshots = () => {
  const dir = join(sharedDataDir() ?? '', 'droidbot');
  return readdirSync(dir).flatMap((app) =>
    readdirSync(join(dir, app, 'states'))
      .filter((file) => /^screen_.*\.(png|jpe?g)$/.test(file))
      .map((file) => ({ file: `${app}/${file}`, bytes: readFileSync(join(dir, app, 'states', file)) })),
  );
};

t.test('every real screenshot, PNG or JPEG, hashes to 64 bits, the same every time', { skip: noData }, async (t) => {
  const all = screenshots();
  t.ok(all.length >= 40, `${all.length} screenshots`);
  t.ok(all.some((s) => s.file.endsWith('.png')) && all.some((s) => s.file.endsWith('.jpg')), 'both formats');
  for (const { file, bytes } of all) {
    const hash = await perceptualHash(bytes);
    t.match(hash, /^[0-9a-f]{16}$/, file);
    t.equal(await perceptualHash(bytes), hash, `${file}: deterministic`);
  }
});

t.test('a re-encoded or dimmed copy stays close; most screens mirrored do not', { skip: noData }, async (t) => {
  let farWhenMirrored = 0;
  const dimmedDistances: number[] = [];
  const mirroredDistances: number[] = [];
  const all = screenshots().filter((_shot, i) => i % 3 === 0);
  for (const { file, bytes } of all) {
    const original = await perceptualHash(bytes);
    const asJpeg = await sharp(bytes).jpeg({ quality: 60 }).toBuffer();
    t.ok(hammingDistance(await perceptualHash(asJpeg), original) <= 4, `${file}: as JPEG at quality 60`);
    // Monotone and never clipping: neighbours keep their order.
    const dimmed = await sharp(bytes).linear(0.9, 10).jpeg({ quality: 95 }).toBuffer();
    const dimmedBits = hammingDistance(await perceptualHash(dimmed), original);
    dimmedDistances.push(dimmedBits);
    t.ok(dimmedBits <= 12, `${file}: dimmed, ${dimmedBits} bits apart`);
    const mirrored = await sharp(bytes).flop().jpeg({ quality: 95 }).toBuffer();
    const mirroredBits = hammingDistance(await perceptualHash(mirrored), original);
    mirroredDistances.push(mirroredBits);
    if (mirroredBits >= 8) farWhenMirrored++;
  }
  // Flat UI screenshots have many nearly tied cells, so a photometric change flips a few of them;
  // still, a near-identical copy is far closer than a different picture of the same content.
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
  t.ok(
    mean(dimmedDistances) * 3 < mean(mirroredDistances),
    `dimmed copies ${mean(dimmedDistances).toFixed(1)} bits away on average, mirrored ones ${mean(mirroredDistances).toFixed(1)}`,
  );
  // Symmetric screens (a blank canvas, a centred dialog) mirror onto themselves.
  t.ok(farWhenMirrored >= all.length * 0.6, `${farWhenMirrored} of ${all.length} mirrored screens are 8+ bits away`);
});

t.test('what is not a PNG or JPEG screenshot is refused with a clear error', async (t) => {
  await t.rejects(perceptualHash(Buffer.from('GIF89a....')), ScreenshotError);
  await t.rejects(perceptualHash(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])), {
    name: 'ScreenshotError',
    message: /unreadable/,
  });
  await t.rejects(perceptualHash(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])), { message: /unreadable/ });
  const huge = await sharp({ create: { width: 8000, height: 6000, channels: 3, background: '#888' } })
    .png()
    .toBuffer();
  await t.rejects(perceptualHash(huge), { message: /pixel limit/i });
  t.equal(hammingDistance('0000000000000000', 'ffffffffffffffff'), 64);
  t.equal(hammingDistance('00000000000000f0', '0000000000000000'), 4);
});
