/**
 * The app's one entry file (`package.json` `main` is its bundle, `dist/main.js`): importing each
 * function file registers that function with the host. Its exports are the handlers, for the
 * benchmark and tools that drive the built app; the host needs none of them.
 *
 * One bundled file loads faster than a tree of modules: a cold instance's first call pays for the
 * load before its answer, inside Graph's 15 s (5 s for policy-based recording) window.
 */
export { placeCallHandler } from '../placeCall.js';
export { callHistoryRetention } from '../callHistoryRetention.js';
export { getCallHandler, hangUpCallHandler, listCallsHandler, listHistoryHandler } from '../callControl.js';
export { healthHandler } from '../health.js';
export { joinMeetingHandler } from '../joinMeeting.js';
export { keepAliveShardSweep } from '../keepAliveShardSweep.js';
export { keepAliveSweep, shardQueueOutput } from '../keepAliveSweep.js';
export { meetingRejoin } from '../meetingRejoin.js';
export { notifications } from '../notifications.js';
export { startWarmUp, warmUpOnStart } from '../warmUp.js';
export { stopTelemetry } from '../flushTelemetry.js';
