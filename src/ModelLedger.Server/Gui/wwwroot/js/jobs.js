// Following a job: replays its stored log lines and new ones (server-sent events), decoding the `mledger train
// --events jsonl` records (phase, step, message, result) for the page; `end` carries the finished job.
import { events } from './api.js';

export function follow(id, handlers) {
  const abort = new AbortController();
  const done = events(`/v1/jobs/${id}/events`, (name, data) => {
    if (name === 'end') { handlers.end?.(JSON.parse(data)); return; }
    let record;
    try { record = JSON.parse(data); } catch { handlers.message?.(data); return; }
    if (record.type === 'step') handlers.step?.(record);
    else if (record.type === 'phase') handlers.phase?.(record.phase);
    else if (record.type === 'message') handlers.message?.(record.message);
    else if (record.type === 'result') handlers.result?.(record.result);
  }, abort.signal).catch(e => { if (e.name !== 'AbortError') handlers.error?.(e); });
  return { stop: () => abort.abort(), done };
}

export const configOf = job => job.payload?.config ?? '';

export function eta(seconds) {
  if (seconds === null || seconds === undefined || !isFinite(seconds)) return '';
  if (seconds < 60) return `${Math.round(seconds)} s left`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s left`;
}
