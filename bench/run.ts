/**
 * `npm run bench [-- raw|distorted|jpeg|train ...]`: every benchmark, each side by side with its peers in the
 * same run (the machines are shared and noisy: compare ratios, not absolute rates).
 * Options: --rounds N (default 3), --no-tfjs, --no-peers; train: --train-steps N, --peer-cpu.
 */
import { benchDistorted } from './cifar-distorted.js';
import { benchRaw } from './cifar-raw.js';
import { benchJpeg } from './jpeg-folder.js';
import { benchTrain } from './train.js';

const KINDS = ['raw', 'distorted', 'jpeg', 'train'];
const which = process.argv.slice(2).filter((a) => KINDS.includes(a));
if (which.length === 0 || which.includes('raw')) await benchRaw();
if (which.length === 0 || which.includes('distorted')) await benchDistorted();
if (which.length === 0 || which.includes('jpeg')) await benchJpeg();
if (which.length === 0 || which.includes('train')) await benchTrain();
