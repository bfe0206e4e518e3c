/**
 * `npm run bench [-- raw|distorted|jpeg ...]`: every benchmark, each side by side with its peers in the
 * same run (the machines are shared and noisy: compare ratios, not absolute rates).
 * Options: --rounds N (default 3), --no-tfjs, --no-peers.
 */
import { benchDistorted } from './cifar-distorted.js';
import { benchRaw } from './cifar-raw.js';
import { benchJpeg } from './jpeg-folder.js';

const which = process.argv.slice(2).filter((a) => a === 'raw' || a === 'distorted' || a === 'jpeg');
if (which.length === 0 || which.includes('raw')) await benchRaw();
if (which.length === 0 || which.includes('distorted')) await benchDistorted();
if (which.length === 0 || which.includes('jpeg')) await benchJpeg();
