import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir } from '@screengraph/testing';

/** Every `uiautomator dump` in ../shared/data/uiautomator, with its file name. */
export function uiautomatorDumps(): { file: string; xml: string }[] {
  const dir = join(sharedDataDir() ?? '', 'uiautomator');
  return readdirSync(dir).flatMap((app) =>
    readdirSync(join(dir, app))
      .filter((file) => file.endsWith('.xml'))
      .map((file) => ({ file, xml: readFileSync(join(dir, app, file), 'utf8') })),
  );
}
