// The compare page's state: the two sides, the bytes fetched for link
// sources, the last report, the digests.

export const cmp = {
  sides: { original: null, converted: null },
  net: { fetched: 0, total: 0 }, // bytes fetched for link sources
  lastReport: null,
  running: false,
  digests: new Map(), // `${side}/${name}` -> hex
  expected: new Map(), // name -> hex
  shaRunning: false,
  linkT0: null,
  outputs: null, // the Outputs panel's last result (outputs/panel.js)
};

/** Whether a side was opened by link. */
export const isRemote = () => Boolean(cmp.sides.original?.remote || cmp.sides.converted?.remote);
