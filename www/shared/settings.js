// Settings both pages share: the quantization schemes the page offers, the
// relative-error thresholds of the row colours, and the size limits.

/** The schemes of the scheme and compare menus, by menu value. */
export const SCHEMES = {
  'int8-tensor': { scheme: 'int8-tensor', label: 'int8 per tensor' },
  'int8-channel': { scheme: 'int8-channel', label: 'int8 per channel' },
  affine8: { scheme: 'affine', bits: 8, groupSize: 64, label: 'affine 8-bit g64' },
  affine4: { scheme: 'affine', bits: 4, groupSize: 64, label: 'affine 4-bit g64' },
};
export const DEFAULT_SCHEME = 'int8-tensor';

/** Default rel. error thresholds of the row colours, in percent (as a link's warn= and bad= give them). */
export const DEFAULT_THRESHOLDS_PCT = Object.freeze({ warn: 1, bad: 5 });

/** The same thresholds as fractions of 1 (the rel. error's unit). */
export const DEFAULT_THRESHOLDS = Object.freeze({ warn: DEFAULT_THRESHOLDS_PCT.warn / 100, bad: DEFAULT_THRESHOLDS_PCT.bad / 100 });

/**
 * The colour band of a relative error: 'good' below thr.warn, 'warn' below
 * thr.bad, else 'bad'. thr is in fractions (DEFAULT_THRESHOLDS by default).
 */
export function errorBand(rel, thr = DEFAULT_THRESHOLDS) {
  return rel < thr.warn ? 'good' : rel < thr.bad ? 'warn' : 'bad';
}

/** The most bytes read of a JSON side file (index, config.json), local or by link. */
export const MAX_JSON_BYTES = 64 << 20;
/** A server that ignores Range may still be used, with consent, below this size. */
export const FULL_BODY_LIMIT = 64 * 1000 * 1000;
/** safetensors' own cap on the header length (MAX_HEADER_BYTES in src/format/header.rs). */
export const MAX_HEADER_BYTES = 100_000_000;
