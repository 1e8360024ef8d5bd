import type { FrameHandler } from './tcp-echo.js';
import { runWork, type Work } from './work.js';

/** The per-frame handler running the work on the calling thread. */
export function localHandler(work: Work): FrameHandler {
  if (work.kind === 'none') return () => undefined;
  return () => runWork(work);
}
