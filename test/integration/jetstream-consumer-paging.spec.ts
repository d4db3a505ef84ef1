// jsm.consumers.names() and list() walk every page: the server answers at most 1024 names or 256
// infos per request, so a stream with more consumers than that takes several requests.
import { JsFixture } from './jetstream-helpers.js';
import { collect } from './kv-helpers.js';

const fx = new JsFixture();
fx.install();

// One more than a page of names, so names() needs two pages and list() five.
const COUNT = 1025;

describe('consumer names() and list() paging', () => {
  it('walk every page of a stream with more consumers than one page holds', async () => {
    const { stream } = await fx.stream();
    const names = Array.from({ length: COUNT }, (_, i) => `c${String(i).padStart(4, '0')}`);
    // Created in chunks: a few at a time keeps a loaded machine's server answering in time.
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map((durableName) => fx.jsm.consumers.add(stream, { durableName })),
      );
    }
    // Count the requests on a second connection: the responder still answers each of them.
    const spy = await fx.connect();
    const requests = { names: 0, list: 0 };
    spy.subscribe(`$JS.API.CONSUMER.NAMES.${stream}`, { callback: () => requests.names++ });
    spy.subscribe(`$JS.API.CONSUMER.LIST.${stream}`, { callback: () => requests.list++ });
    await spy.flush();

    const listed = await collect(fx.jsm.consumers.names(stream));
    expect(listed).toHaveLength(COUNT);
    expect([...listed].sort()).toEqual(names);

    const infos = await collect(fx.jsm.consumers.list(stream));
    expect(infos).toHaveLength(COUNT);
    expect(infos.map((ci) => ci.name).sort()).toEqual(names);
    expect(infos.every((ci) => ci.streamName === stream)).toBe(true);

    await spy.flush();
    expect(requests).toEqual({ names: 2, list: 5 });
  }, 60_000);
});
