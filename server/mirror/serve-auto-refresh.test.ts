// `railyard serve` with mirror.autoRefresh: a first start on a connected host ends up with
// a working mirror, served over HTTP, while the server keeps serving.
import assert from 'node:assert/strict';
import { test } from 'uvu';
import { silentLogger } from '../log.ts';
import { startServer } from '../main.ts';
import { buildRelease, setLink } from './testing/fake-upstream.ts';
import { createHarness } from './testing/harness.ts';

test('serve fetches the configured release in the background and serves it', async () => {
  const h = await createHarness();
  try {
    await buildRelease(h.upstreamRoot, h.key, '100.0.0');
    setLink(h.upstreamRoot, '100.0.0');
    h.upstream.fault('/stable/amd64-usr/100.0.0/flatcar_production_image.bin.bz2', { slowMs: 10 });
    const config = h.config({ autoRefresh: true }, { 'http.listen': '127.0.0.1:0', 'tftp.enabled': false });
    const server = await startServer(config, silentLogger());
    try {
      const health = await fetch(`${server.httpUrl}/healthz`);
      assert.equal(health.status, 200, 'serving while the refresh runs');
      let res: Response;
      for (;;) {
        res = await fetch(`${server.httpUrl}/mirror/stable/amd64-usr/current/version.txt`);
        if (res.status === 200) break;
        await res.body?.cancel();
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.match(await res.text(), /FLATCAR_VERSION=100\.0\.0/);
    } finally {
      await server.lifecycle.stop('test done', 1000);
    }
  } finally {
    await h.close();
  }
});

test.run();
