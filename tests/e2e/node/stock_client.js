// Drives polysearchd with the stock npm MessagePack-RPC client msgpack5rpc
// (Neovim's author's node client), unchanged.  Usage:
//   node stock_client.js tcp HOST PORT | node stock_client.js unix PATH
// Prints one JSON line per step ({"step", "ok", ...}) and exits 0 when every
// call answered as expected, 1 otherwise.  Bounded: gives up after 20 s.
'use strict';
const net = require('net');
const Session = require('msgpack5rpc');

const [kind, a, b] = process.argv.slice(2);
const docId = 'node-' + kind;
const sock = kind === 'unix' ? net.connect(a) : net.connect(Number(b), a);
const session = new Session();
session.attach(sock, sock);
const timer = setTimeout(() => { out('timeout', false); process.exit(1); }, 20000);
let failed = false;

function out(step, ok, extra) {
  if (!ok) failed = true;
  console.log(JSON.stringify(Object.assign({ step, ok }, extra || {})));
}

function call(method, args) {
  return new Promise((resolve) => {
    session.request(method, args, (err, res) => resolve([err, res]));
  });
}

const str = (v) => (v === undefined || v === null ? v : v.toString());

sock.on('error', (e) => { out('socket', false, { error: e.message }); process.exit(1); });
sock.on('connect', async () => {
  // A notification first, as Neovim clients do: never answered.
  session.notify('nvim_set_client_info', ['node', {}, 'remote', {}, {}]);
  let [err, res] = await call('ping', [{}]);
  out('ping', !err && str(res) === 'pong', { res: str(res) });
  [err, res] = await call('add', [{ docs: [{ id: docId, title: 'Node stock client',
    body: 'Ein Dokument über Lyonbiopôle, vom msgpack5rpc-Client hinzugefügt.', lang: 'de' }] }]);
  out('add', !err && res && res.added === 1, { err: err && str(err.code), res });
  [err, res] = await call('search', [{ q: 'lyonbiopole', limit: 50 }]);
  const ids = res && res.hits ? res.hits.map((h) => str(h.id)) : [];
  out('search', !err && res.total >= 1 && ids.includes(docId), { ids });
  [err, res] = await call('get', [{ id: docId }]);
  out('get', !err && str(res.lang) === 'de' && str(res.title) === 'Node stock client');
  [err, res] = await call('stats', [{}]);
  out('stats', !err && res.documents >= 1, { documents: res && res.documents });
  [err, res] = await call('no_such_method', [{}]);
  out('error', !!err && str(err.code) === 'unknown_method', { code: err && str(err.code) });
  [err, res] = await call('ping', [{}]);
  out('ping-after-error', !err && str(res) === 'pong');
  clearTimeout(timer);
  sock.end();
  process.exit(failed ? 1 : 0);
});
