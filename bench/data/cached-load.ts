/**
 * bench/data/cached-load — one cached load by folder stamps (`--data-cache folders`), timed in a
 * process of its own, as the next run meets it: `node dist/bench/data/cached-load.js <cacheDir>
 * <folder>` prints `{"seconds", "images", "crc32"}`. A process of its own, because in the bench's
 * process the earlier loads' buffers are still being collected and their garbage collection lands
 * in whichever load comes next.
 */
import { crc32 } from 'node:zlib';
import { lookupByStamps } from '../../src/data/load-cache.js';

const [cacheDir, folder] = process.argv.slice(2);
if (!cacheDir || !folder) throw new Error('usage: cached-load.js <cacheDir> <folder>');
const start = performance.now();
const hit = await lookupByStamps(cacheDir, folder, {});
const seconds = (performance.now() - start) / 1000;
if (!hit) throw new Error(`bench:data: no cached load of ${folder} by folder stamps (not settled, or not recorded)`);
console.log(JSON.stringify({ seconds, images: hit.labels.length, crc32: crc32(hit.pixels) }));
