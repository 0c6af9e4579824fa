// Where playback of each file stopped, so it resumes there (per browser, in localStorage).

const PREFIX = 'openpan.position.';
/** Near the start or the end (5 s, or a tenth of a short file), a file starts from the beginning next time. */
function marginOf(duration: number): number {
  return Number.isFinite(duration) && duration > 0 ? Math.min(5, duration / 10) : 5;
}

export function savedPosition(fileUuid: string, duration: number): number {
  try {
    const value = Number(localStorage.getItem(PREFIX + fileUuid));
    const margin = marginOf(duration);
    return Number.isFinite(value) && value > margin && (!Number.isFinite(duration) || value < duration - margin) ? value : 0;
  } catch {
    return 0;
  }
}

export function savePosition(fileUuid: string, seconds: number, duration: number): void {
  try {
    if (Number.isFinite(duration) && seconds >= duration - marginOf(duration)) localStorage.removeItem(PREFIX + fileUuid);
    else localStorage.setItem(PREFIX + fileUuid, seconds.toFixed(1));
  } catch {
    // no storage: positions are not remembered
  }
}
