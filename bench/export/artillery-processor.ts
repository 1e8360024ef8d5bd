/**
 * The Artillery processor that ships next to an exported script (copied as <script>.processor.mjs): it makes each
 * POST body, checks every echo byte for byte as conbench's own drivers do, and ends a closed-loop virtual user when
 * its workload's time is up. Self-contained on purpose: Artillery loads it on its own runners, without conbench.
 * Callback-style functions, the form Artillery calls with (…, next).
 */

interface Context {
  vars: Record<string, unknown>;
}
interface Events {
  emit(kind: 'counter', name: string, value: number): void;
}
interface RequestParams {
  body?: string;
}
interface Response {
  body?: unknown;
}

const PATTERN = 'conbench-echo-payload/';
const bodies = new Map<number, string>();

/** `bytes` ASCII bytes of a repeating pattern, made once per size. */
export function payloadOf(bytes: number): string {
  let body = bodies.get(bytes);
  if (body === undefined) {
    body = PATTERN.repeat(Math.ceil(bytes / PATTERN.length)).slice(0, bytes);
    bodies.set(bytes, body);
  }
  return body;
}

/** beforeRequest: the body is the workload's payload size (variable payloadBytes). */
export function conbenchBody(
  request: RequestParams,
  context: Context,
  _events: Events,
  next: (error?: Error) => void,
): void {
  request.body = payloadOf(Number(context.vars.payloadBytes));
  next();
}

/** afterResponse: a response that is not the request's body, byte for byte, fails the virtual user. */
export function conbenchVerify(
  request: RequestParams,
  response: Response,
  _context: Context,
  events: Events,
  next: (error?: Error) => void,
): void {
  if (response.body !== request.body) {
    events.emit('counter', 'conbench.mismatches', 1);
    next(new Error('echo mismatch'));
    return;
  }
  events.emit('counter', 'conbench.verified', 1);
  next();
}

/** whileTrue: keep looping until loopSeconds (0: one request only) have passed since the virtual user's first answer. */
export function conbenchUntilTimeUp(context: Context, next: (more: boolean) => void): void {
  const end = (context.vars.conbenchEnd ??= Date.now() + Number(context.vars.loopSeconds) * 1000) as number;
  next(Date.now() < end);
}
