/** The lines every driver entry prints for the orchestrator (see bench/run/client-process.ts). */
export const RESULT_PREFIX = 'CONBENCH_RESULT ';
export const PHASE_PREFIX = 'CONBENCH_PHASE ';
