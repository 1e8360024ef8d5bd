/** Prints the spin loop's rate (iterations per µs) on the CPU it runs on, so every server does the same cpu work. */
import { calibrateSpin } from './work.js';

process.stdout.write(`${calibrateSpin()}\n`);
