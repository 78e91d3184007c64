import { createMotionPlugin } from '../analysis/motion-plugin.ts';
import type { AnalysisPlugin } from '../analysis/types.ts';

/** The analysis plugins a server runs unless told otherwise: the built-in `motion`. The one place they are chosen. */
export function defaultAnalyzers(): AnalysisPlugin[] {
  return [createMotionPlugin()];
}
