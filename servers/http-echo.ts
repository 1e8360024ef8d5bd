/**
 * HTTP echo: POST/PUT bodies come back with 200 (streamed through, never buffered whole), GET/HEAD return a small
 * fixed body. The handler work runs once per request before the response starts, as it runs once per TCP frame.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { FrameHandler } from './tcp-echo.js';

export const HTTP_GET_BODY = Buffer.from('conbench ok\n');
/** Bodies up to this size are collected and sent with one end(); larger ones stream through (1 MiB never buffers). */
const SMALL_BODY_BYTES = 64 * 1024;

function respond(req: IncomingMessage, res: ServerResponse): void {
  switch (req.method) {
    case 'POST':
    case 'PUT': {
      res.statusCode = 200;
      res.setHeader('content-type', req.headers['content-type'] ?? 'application/octet-stream');
      const length = req.headers['content-length'];
      if (length !== undefined) res.setHeader('content-length', length);
      if (length !== undefined && Number(length) <= SMALL_BODY_BYTES) {
        // A stream pipeline per request costs more than the echo itself for small bodies.
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
        req.on('error', () => res.destroy());
        return;
      }
      pipeline(req, res, () => undefined); // errors end both sides; nothing to report per request
      return;
    }
    case 'GET':
    case 'HEAD':
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': HTTP_GET_BODY.length });
      res.end(req.method === 'GET' ? HTTP_GET_BODY : undefined);
      return;
    default:
      res.writeHead(405, { allow: 'GET, HEAD, POST, PUT', 'content-length': 0 });
      res.end();
      req.resume();
  }
}

export function httpEchoListener(handler: FrameHandler): RequestListener {
  return (req, res) => {
    const pending = handler();
    if (!pending) {
      respond(req, res);
      return;
    }
    pending.then(
      () => respond(req, res),
      () => {
        res.writeHead(500, { 'content-length': 0 });
        res.end();
      },
    );
  };
}
