// One pending redraw of a view: soon() draws with the next animation frame
// (a scroll, a click), later() with the first frame after UI_TICK_MS (rows
// streaming in: a few redraws a second instead of one per row or frame).
// Any number of calls before the draw make one draw.
import { UI_TICK_MS } from './state.js';

/** A redraw scheduler for draw(). */
export function redrawer(draw) {
  let frame = 0;
  let timer = 0;
  const run = () => {
    frame = 0;
    draw();
  };
  const soon = () => {
    if (timer) {
      clearTimeout(timer);
      timer = 0;
    }
    if (!frame) frame = requestAnimationFrame(run);
  };
  const later = () => {
    if (frame || timer) return;
    timer = setTimeout(() => {
      timer = 0;
      soon();
    }, UI_TICK_MS);
  };
  return { soon, later };
}
