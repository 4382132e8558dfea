// Unit tests of shared/format.js and the thresholds of shared/settings.js.
import test from 'node:test';
import assert from 'node:assert/strict';
import { fmtBytes, fmtInt, fmtParams, fmtPct, fmtPctFixed, fmtSci, fmtFixed, fmtPrecision } from '../../www/shared/format.js';
import { errorBand, DEFAULT_THRESHOLDS } from '../../www/shared/settings.js';

test('fmtBytes: SI units with "kB", as the CLI writes them', () => {
  assert.equal(fmtBytes(null), '–');
  assert.equal(fmtBytes(0), '0 B');
  assert.equal(fmtBytes(999), '999 B');
  assert.equal(fmtBytes(1000), '1.00 kB');
  assert.equal(fmtBytes(1536), '1.54 kB');
  assert.equal(fmtBytes(90_868_376), '90.9 MB');
  assert.equal(fmtBytes(64 << 20), '67.1 MB');
  assert.equal(fmtBytes(6e9), '6.00 GB');
  assert.equal(fmtBytes(12e15), '12000.0 TB');
});

test('fmtPct: two significant figures at least; fmtPctFixed: fixed decimals', () => {
  assert.equal(fmtPct(null), '–');
  assert.equal(fmtPct(0.00421), '0.42 %');
  assert.equal(fmtPct(0.0123), '1.23 %');
  assert.equal(fmtPct(0.1234), '12.3 %');
  assert.equal(fmtPctFixed(0.0123), '1.230 %');
  assert.equal(fmtPctFixed(0.0005), '0.0500 %');
  assert.equal(fmtPctFixed(undefined), '–');
});

test('integers, parameters, scientific and fixed formats', () => {
  assert.equal(fmtInt(1234567), '1,234,567');
  assert.equal(fmtInt(null), '–');
  assert.equal(fmtParams(22_713_216), '22.71 M');
  assert.equal(fmtParams(1.1e9), '1.10 B');
  assert.equal(fmtParams(1500), '1.5 K');
  assert.equal(fmtParams(12), '12');
  assert.equal(fmtSci(0), '0');
  assert.equal(fmtSci(0.5), '0.5000');
  assert.equal(fmtSci(0.001234), '1.23e-3');
  assert.equal(fmtSci(-12345), '-1.23e+4');
  assert.equal(fmtFixed(1)(12.345), '12.3');
  assert.equal(fmtFixed(2)(null), '–');
  assert.equal(fmtPrecision(0.000123456), '0.0001235');
});

test('errorBand: below warn is good, below bad is warn, the rest bad (1 % and 5 % by default)', () => {
  assert.deepEqual({ ...DEFAULT_THRESHOLDS }, { warn: 0.01, bad: 0.05 });
  assert.equal(errorBand(0.0099), 'good');
  assert.equal(errorBand(0.01), 'warn');
  assert.equal(errorBand(0.0499), 'warn');
  assert.equal(errorBand(0.05), 'bad');
  assert.equal(errorBand(0.02, { warn: 0.025, bad: 0.1 }), 'good');
});
