import t from 'tap';
import { BlobUrls } from '../src/blob-urls.js';

t.test('blob URLs: one fetch per path; the least recently asked for revoked past the byte bound', async (t) => {
  const fetched: string[] = [];
  const revoked: string[] = [];
  let made = 0;
  const urls = new BlobUrls(
    async (path) => {
      fetched.push(path);
      if (path === '/missing') return null;
      if (path === '/broken') throw new Error('network');
      return new Blob([new Uint8Array(path === '/big' ? 600 : 300)]);
    },
    1000,
    { createObjectURL: () => `blob:${++made}`, revokeObjectURL: (url) => revoked.push(url) },
  );
  const [a, again] = await Promise.all([urls.get('/a'), urls.get('/a')]);
  t.equal(a, 'blob:1');
  t.equal(again, a, 'asked twice at once: one fetch, one URL');
  t.equal(await urls.get('/b'), 'blob:2');
  t.equal(await urls.get('/c'), 'blob:3');
  t.same(revoked, [], '900 bytes: all kept');
  t.equal(await urls.get('/a'), 'blob:1', 'a is the most recently asked for now');
  t.equal(await urls.get('/big'), 'blob:4');
  t.same(revoked, ['blob:2', 'blob:3'], 'the least recently asked for go first, until the rest fit');
  t.equal(await urls.get('/b'), 'blob:5', 'a revoked one is fetched again');
  t.same(fetched, ['/a', '/b', '/c', '/big', '/b']);
  t.equal(await urls.get('/missing'), null);
  t.equal(await urls.get('/broken'), null);
});
