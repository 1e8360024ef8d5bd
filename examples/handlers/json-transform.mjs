// json-transform.mjs: the everyday body of an API endpoint: parse a JSON request, reshape it, serialize
// the answer. Per request, a few µs to tens of µs of JavaScript, all on the thread that received the
// request (JSON.parse, sorting, JSON.stringify): CPU-bound on the event loop, with nothing to wait for and
// nothing the libuv thread pool can take. A single loop serves it well while it stays small; once it
// grows, only more loops (cluster, fork pool, worker_threads) add throughput.
//
// Deterministic: the same request bytes always give the same response bytes (verify 'bytes').
// A request that is not valid JSON (e.g. the echo benchmark's raw payloads) is handled as { text: "..." }.

/** @param {Buffer} request */
export default function jsonTransform(request) {
  const text = request.toString('utf8');
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = { text };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) doc = { value: doc };

  const items = Array.isArray(doc.items) ? doc.items.map(transformItem) : [];
  items.sort(compareItems);
  const total = items.reduce((sum, item) => sum + amountOf(item), 0);
  return JSON.stringify({
    ...doc,
    id: doc.id ?? null,
    items,
    itemCount: items.length,
    total: Math.round(total * 100) / 100,
    names: items
      .map((item) => (typeof item === 'object' && item !== null ? item.name : undefined))
      .filter((n) => typeof n === 'string'),
    ...(typeof doc.text === 'string'
      ? { textLength: doc.text.length, textUpper: doc.text.slice(0, 64).toUpperCase() }
      : {}),
    requestBytes: request.length,
    processed: true,
  });
}

function transformItem(item) {
  if (typeof item === 'string') return item.toUpperCase();
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
  const out = { ...item };
  if (typeof out.name === 'string') out.name = out.name.toUpperCase();
  const qty = typeof out.qty === 'number' ? out.qty : 1;
  if (typeof out.price === 'number') out.subtotal = Math.round(out.price * qty * 100) / 100;
  return out;
}

function amountOf(item) {
  if (typeof item === 'number') return item;
  if (item && typeof item === 'object') {
    for (const key of ['subtotal', 'price', 'amount', 'value']) if (typeof item[key] === 'number') return item[key];
  }
  return 0;
}

// Numbers first (ascending), then objects by id, name and finally their JSON text, then everything else by
// its JSON text: a total order, so the result never depends on how ties were ordered in the request.
function compareItems(a, b) {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 0) return a - b;
  if (ra === 1) return compare(a.id, b.id) || compare(a.name, b.name) || compare(JSON.stringify(a), JSON.stringify(b));
  return compare(JSON.stringify(a), JSON.stringify(b));
}

function rank(item) {
  if (typeof item === 'number') return 0;
  if (item !== null && typeof item === 'object' && !Array.isArray(item)) return 1;
  return 2;
}

function compare(x, y) {
  if (typeof x === 'number' && typeof y === 'number') return x - y;
  if (typeof x === 'number') return -1; // numeric ids before other ids
  if (typeof y === 'number') return 1;
  const sx = x === undefined ? '' : String(x);
  const sy = y === undefined ? '' : String(y);
  return sx < sy ? -1 : sx > sy ? 1 : 0;
}
