// One pending redraw of a view: soon() draws with the next animation frame
// (a scroll, a click), later() with the first frame after the page's tick
// (rows streaming in: a few redraws a second instead of one per row or
// frame). Any number of calls before the draw make one draw. Every view
// waiting for later() shares one tick, so the table, the plot and the
// progress line are drawn in the same frame: one style, layout and paint
// for all of them.
import { UI_TICK_MS } from './state.js';

const waiting = new Set(); // the soon() of every view waiting for the tick
let tick = 0;

function onTick() {
  tick = 0;
  const due = [...waiting];
  waiting.clear();
  for (const soon of due) soon();
}

/** A redraw scheduler for draw(). */
export function redrawer(draw) {
  let frame = 0;
  const run = () => {
    frame = 0;
    draw();
  };
  const soon = () => {
    waiting.delete(soon);
    if (!frame) frame = requestAnimationFrame(run);
  };
  const later = () => {
    if (frame || waiting.has(soon)) return;
    waiting.add(soon);
    if (!tick) tick = setTimeout(onTick, UI_TICK_MS);
  };
  return { soon, later };
}
