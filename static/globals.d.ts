// What the pages find on `window` besides the DOM.
import type * as Dash from 'dashjs';
import type { CaptureHook } from './capture.js';
import type { ViewerHook } from './viewer.js';

declare global {
  interface Window {
    /** dash.js, from viewer.html's classic `<script src="/vendor/dash.all.min.js">` before the module. */
    readonly dashjs: typeof Dash;
    /** The capture page's state, for tests and benchmarks. */
    dashrelayCapture?: CaptureHook;
    /** The viewer page's state, for tests and benchmarks. */
    dashrelayViewer?: ViewerHook;
  }
}
