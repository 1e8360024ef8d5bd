// io-wait.mjs: waiting, not working, standing for a call to a database or another service: a 2 ms
// timer, then a small response derived from the request. No CPU to speak of and no thread pool: the
// wait is a timer on the event loop, so a single loop can keep thousands of requests waiting at once
// (throughput ≈ requests in flight / 2 ms, a few µs of CPU each). The models that block a thread or a
// process per request (iterative, a thread or process per connection, a fixed pool) are limited by how
// many they can keep waiting at once, not by CPU.
//
// Response: "len=<request length> head=<first 16 bytes in hex>", a pure function of the request.

const WAIT_MS = 2;

export const verify = 'bytes'; // the default, spelled out: the response depends on the request only

/** @param {Buffer} request */
export default async function ioWait(request) {
  await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
  return `len=${request.length} head=${request.subarray(0, 16).toString('hex')}`;
}
