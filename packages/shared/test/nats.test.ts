import t from 'tap';
import { natsServers, streamUnwritable } from '../src/nats.js';

t.test('a stream takes writes on one server, or with a leader and a quorum of current replicas', async (t) => {
  t.equal(streamUnwritable({}), null, 'a single server');
  const replica = (current: boolean, offline = false) => ({ current, offline });
  t.equal(streamUnwritable({ cluster: { leader: 'n1', replicas: [replica(true), replica(true)] } }), null);
  t.equal(
    streamUnwritable({ cluster: { leader: 'n1', replicas: [replica(true), replica(false, true)] } }),
    null,
    'one of three down',
  );
  t.match(streamUnwritable({ cluster: { replicas: [replica(true)] } }), /no leader/, 'an election');
  t.match(
    streamUnwritable({ cluster: { leader: 'n1', replicas: [replica(false, true), replica(false, true)] } }),
    /1 of 3 replicas current: no quorum/,
    'a lone survivor still calling itself leader',
  );
  t.equal(streamUnwritable({ cluster: { leader: 'n1' } }), null, 'R1 on a cluster');
});

t.test('NATS_URL names one server or several', async (t) => {
  t.same(natsServers('nats://a:4222'), ['nats://a:4222']);
  t.same(natsServers(' nats://a:4222, nats://b:4222 ,'), ['nats://a:4222', 'nats://b:4222']);
});
